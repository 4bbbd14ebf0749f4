"""The answer policy: one answer, three choices, or silence.

Silence when the best FAQ scores below ``min_score``, or when the message is at least as
close to an everyday off-topic phrase (see ``background.txt``) as to its best FAQ: a
near-miss such as "how do I enroll in the 401k?" scores as high as a real paraphrase
of "How do I sign up for Medicare?", but it is closer still to the 401k phrase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ANSWER, CHOICES, NONE = "answer", "choices", "none"
CHOICE_COUNT = 3


@dataclass(frozen=True)
class Hit:
    """One candidate FAQ: ``row`` is its 0-based row in the loaded dataset."""

    row: int
    id: str
    question: str
    answer: str
    url: str
    score: float
    matched: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "row": self.row, "question": self.question,
                "answer": self.answer, "url": self.url, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Answer:
    decision: str
    shown: tuple[Hit, ...]
    candidates: tuple[Hit, ...]
    background: float = -1.0
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"decision": self.decision, "shown": [h.to_json() for h in self.shown],
                "candidates": [h.to_json() for h in self.candidates]}


def decide(hits: tuple[Hit, ...], *, min_score: float, margin: float,
           background: float = -1.0) -> tuple[str, tuple[Hit, ...]]:
    """Return the decision and the hits to show, from candidates sorted best first."""
    if not hits or hits[0].score < min_score or background >= hits[0].score:
        return NONE, ()
    if len(hits) > 1 and hits[0].score - hits[1].score < margin:
        return CHOICES, hits[:CHOICE_COUNT]
    return ANSWER, hits[:1]
