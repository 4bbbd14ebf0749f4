"""What the listeners share: the answerer, the dedupe store, the log, the channel list, and
the FAQ edits with who may make them.

``create_app`` puts one ``Services`` into every request's Bolt context, so listeners stay
plain functions of Bolt's injected arguments and tests can call them with a dict context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import DEFAULT_SLACK_API_URL
from bot.slack.response_urls import ResponseUrls

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.faq.answerer import Answerer
    from bot.faq.policy import Answer
    from bot.faq.sources import FaqRow
    from bot.storage import ClaimStore

CONTEXT_KEY = "faqbot"
EXAMPLE_COUNT = 3


class Recorder(Protocol):
    """Where questions, votes and choice clicks go (``bot.storage.Store``)."""

    def log_question(self, *, team: str, channel: str, ts: str, user: str, text: str,
                     answer: Answer, latency_ms: float, direct: bool = False,
                     reply_ts: str | None = None) -> None: ...

    def log_vote(self, *, team: str, channel: str, message_ts: str, user: str, faq_id: str,
                 vote: str) -> None: ...

    def log_choice(self, *, team: str, channel: str, message_ts: str, user: str, chosen: str,
                   shown: Sequence[str]) -> None: ...


class FaqEditing(Protocol):
    """Where FAQ edits go (``bot.live.LiveFaq``): checked, saved, live on every process."""

    def problems(self, row: FaqRow, *, replacing: str | None = None) -> dict[str, str]: ...

    def save(self, row: FaqRow, *, editor: str, replacing: str | None = None) -> FaqRow: ...


class Learning(Protocol):
    """Where confirmations of a phrasing go (``bot.live.Learner``)."""

    def confirmed(self, *, team: str, channel: str, reply_ts: str, user: str,
                  faq_id: str) -> object: ...

    def alternatives(self, *, team: str, channel: str, reply_ts: str, user: str,
                     instead_of: str) -> list[str]: ...


@dataclass(frozen=True)
class Services:
    answerer: Answerer
    deduper: ClaimStore
    faq_channels: frozenset[str] = frozenset()
    recorder: Recorder | None = None  # None: nothing is logged (tests, or no store)
    editing: FaqEditing | None = None  # None: the FAQ can't be edited from Slack
    editors: frozenset[str] = frozenset()  # FAQ_EDITORS
    learning: Learning | None = None  # None: clicks teach nothing
    response_urls: ResponseUrls = field(
        default_factory=lambda: ResponseUrls.for_api_url(DEFAULT_SLACK_API_URL))

    @classmethod
    def for_settings(cls, settings: Settings, *, answerer: Answerer, deduper: ClaimStore,
                     recorder: Recorder | None = None, editing: FaqEditing | None = None,
                     learning: Learning | None = None) -> Services:
        """The services ``settings`` ask for: FAQ_CHANNELS, FAQ_EDITORS, and response URLs on
        Slack's hosts or on SLACK_API_URL's origin."""
        return cls(answerer=answerer, deduper=deduper, recorder=recorder, editing=editing,
                   learning=learning,
                   editors=settings.faq_editors, faq_channels=frozenset(settings.faq_channels),
                   response_urls=ResponseUrls.for_api_url(settings.slack_api_url))

    def may_edit(self, user: str) -> bool:
        """Only FAQ_EDITORS edit from Slack, and only where edits can be saved."""
        return self.editing is not None and user in self.editors

    def entry(self, faq_id: str) -> FaqRow | None:
        """The FAQ a button refers to; None if the dataset changed since it was posted."""
        return self.answerer.faq.by_id(faq_id)

    def examples(self, count: int = EXAMPLE_COUNT) -> list[str]:
        """Questions spread across the dataset, for /faq help."""
        return self.answerer.faq.examples(count)


def services(context: Mapping[str, Any]) -> Services:
    """The ``Services`` that ``create_app`` attached to this request's context."""
    return context[CONTEXT_KEY]
