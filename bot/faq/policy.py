"""The answer policy: one answer, three choices, or silence.

Hits come ranked by their FAQ score. Silence when the best hit's ``decision_score`` is
below ``min_score``; choices when the runner-up's FAQ score is within ``margin``. With a
calibrated dataset (see ``calibration``) the decision score is the FAQ score relative to
that FAQ's typical score and both thresholds were learned at build; without one, the
decision score is the FAQ score itself (the plain cosine for an FAQ with one phrasing) and
the thresholds are ``ANSWER_MIN_SCORE``/``ANSWER_MARGIN``.

A top-level channel message, answered unprompted, gets ``decide_unprompted``: one answer or
silence, at the channel's (stricter) thresholds. Three guesses nobody asked for are noise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    """One candidate FAQ: ``row`` is its 0-based row in the loaded dataset.

    ``score`` is the cosine of its best phrasing; ``faq_score`` ranks the FAQs, and
    ``decision_score`` is what the silence threshold is compared with.
    """

    row: int
    id: str
    question: str
    answer: str
    url: str
    score: float
    matched: str = ""
    faq_score: float | None = None
    decision_score: float | None = None

    @property
    def rank_score(self) -> float:
        return self.score if self.faq_score is None else self.faq_score

    @property
    def gate_score(self) -> float:
        return self.score if self.decision_score is None else self.decision_score

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "row": self.row, "question": self.question,
                "answer": self.answer, "url": self.url, "score": round(self.score, 4),
                "decision_score": round(self.gate_score, 4)}


@dataclass(frozen=True)
class Answer:
    decision: Decision
    shown: tuple[Hit, ...]
    candidates: tuple[Hit, ...]
    truncated: bool = False
    question: str = ""  # what was asked, as the engine saw it (cleaned and capped)
    # On a miss: the closest FAQs still above the looser floor, offered to someone who asked
    # directly as "Maybe one of these?" (never posted unprompted in a channel).
    near: tuple[Hit, ...] = ()
    # What a top-level channel message gets: ANSWER (the same hit as ``shown``) or NONE.
    channel_decision: Decision = Decision.NONE

    def unprompted(self) -> Answer:
        """This answer as a top-level channel message gets it: the channel decision, and
        nothing "near" (that is offered only to someone who asked)."""
        answered = self.channel_decision == Decision.ANSWER
        return replace(self, decision=self.channel_decision,
                       shown=self.shown[:1] if answered else (), near=())

    def to_json(self) -> dict[str, Any]:
        return {"decision": self.decision, "channel_decision": self.channel_decision,
                "shown": [h.to_json() for h in self.shown],
                "candidates": [h.to_json() for h in self.candidates],
                "near": [h.to_json() for h in self.near]}


def nearby(ranked: tuple[Hit, ...], *, floor: float) -> tuple[Hit, ...]:
    """The best few hits at or above ``floor``: what a miss asked directly may still offer."""
    return tuple(hit for hit in ranked[:CHOICE_COUNT] if hit.gate_score >= floor)


def decide(ranked: tuple[Hit, ...], *, min_score: float,
           margin: float) -> tuple[Decision, tuple[Hit, ...]]:
    """Return the decision and the hits to show, from hits ranked by FAQ score."""
    if not ranked or ranked[0].gate_score < min_score:
        return Decision.NONE, ()
    if len(ranked) > 1 and ranked[0].rank_score - ranked[1].rank_score < margin:
        return Decision.CHOICES, ranked[:CHOICE_COUNT]
    return Decision.ANSWER, ranked[:1]


def decide_unprompted(ranked: tuple[Hit, ...], *, min_score: float,
                      margin: float) -> Decision:
    """ANSWER (the best hit) or NONE for a message nobody asked the bot: choices at these
    thresholds mean the bot isn't sure, and then it says nothing."""
    decision, _ = decide(ranked, min_score=min_score, margin=margin)
    return Decision.ANSWER if decision == Decision.ANSWER else Decision.NONE
