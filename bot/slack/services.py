"""What the listeners share: the answerer, the dedupe store, the log and the channel list.

``create_app`` puts one ``Services`` into every request's Bolt context, so listeners stay
plain functions of Bolt's injected arguments and tests can call them with a dict context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.slack.dedupe import ClaimStore

if TYPE_CHECKING:
    from bot.faq.answerer import Answerer
    from bot.faq.policy import Answer
    from bot.faq.sources import FaqRow

CONTEXT_KEY = "faqbot"
EXAMPLE_COUNT = 3


class Recorder(Protocol):
    """Where questions, votes and choice clicks go (``bot.store.Store``)."""

    def log_question(self, *, team: str, channel: str, ts: str, user: str, text: str,
                     answer: Answer, latency_ms: float, direct: bool = False) -> None: ...

    def log_vote(self, *, team: str, channel: str, message_ts: str, user: str, faq_id: str,
                 vote: str) -> None: ...

    def log_choice(self, *, team: str, channel: str, message_ts: str, user: str, chosen: str,
                   shown: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class Services:
    answerer: Answerer
    deduper: ClaimStore
    faq_channels: frozenset[str] = frozenset()
    recorder: Recorder | None = None  # None: nothing is logged (tests, or no store)
    _by_id: dict[str, FaqRow] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {row.id: row for row in self.answerer.faq.rows})

    def entry(self, faq_id: str) -> FaqRow | None:
        """The FAQ a button refers to; None if the dataset changed since it was posted."""
        return self._by_id.get(faq_id)

    def examples(self, count: int = EXAMPLE_COUNT) -> list[str]:
        """Questions spread across the dataset, for /faq help."""
        rows = self.answerer.faq.rows
        picks = sorted({n * len(rows) // count for n in range(count)}) if rows else []
        return [rows[n].question for n in picks]


def services(context: Mapping[str, Any]) -> Services:
    """The ``Services`` that ``create_app`` attached to this request's context."""
    return context[CONTEXT_KEY]
