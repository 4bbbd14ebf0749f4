"""The answer policy: one answer, three choices, or silence.

Silence when the best FAQ scores below ``min_score``, or when the message is at least as
close to an everyday off-topic phrase (see ``background.txt``) as to its best FAQ: a
near-miss such as "how do I enroll in the 401k?" scores as high as a real paraphrase
of "How do I sign up for Medicare?", but it is closer still to the 401k phrase.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    """What the bot does with a question; the values are the JSON and log contract."""

    ANSWER = "answer"
    CHOICES = "choices"
    NONE = "none"


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
    decision: Decision
    shown: tuple[Hit, ...]
    candidates: tuple[Hit, ...]
    truncated: bool = False
    question: str = ""  # what was asked, as the engine saw it (cleaned and capped)

    def to_json(self) -> dict[str, Any]:
        return {"decision": self.decision, "shown": [h.to_json() for h in self.shown],
                "candidates": [h.to_json() for h in self.candidates]}


def decide(hits: tuple[Hit, ...], *, min_score: float, margin: float,
           background: float = -1.0) -> tuple[Decision, tuple[Hit, ...]]:
    """Return the decision and the hits to show, from candidates sorted best first."""
    if not hits or hits[0].score < min_score or background >= hits[0].score:
        return Decision.NONE, ()
    if len(hits) > 1 and hits[0].score - hits[1].score < margin:
        return Decision.CHOICES, hits[:CHOICE_COUNT]
    return Decision.ANSWER, hits[:1]
