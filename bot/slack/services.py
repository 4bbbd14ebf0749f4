"""What the listeners share: the answerer, the dedupe store, the log, the channel list, the
FAQ edits with who may make them, learned phrasings, and the facts an editor's App Home shows.

``create_app`` puts one ``Services`` into every request's Bolt context, so listeners stay
plain functions of Bolt's injected arguments and tests can call them with a dict context.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import DEFAULT_SLACK_API_URL
from bot.experts import Experts, Who
from bot.slack.response_urls import ResponseUrls

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.faq.answerer import Answerer
    from bot.faq.policy import Answer
    from bot.faq.revisions import Seen
    from bot.faq.sources import FaqRow
    from bot.storage import AskedQuestion, ClaimStore, Escalation

CONTEXT_KEY = "faqbot"
RECEIVED_KEY = "faqbot_received_at"  # time.monotonic() when the request reached the app
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

    def save(self, row: FaqRow, *, editor: str, replacing: str | None = None,
             since: Seen | None = None, merge: bool = True) -> FaqRow: ...


class Learning(Protocol):
    """Where confirmations of a phrasing go, and editors decide on them (``bot.live.Learner``;
    ``accept`` and ``reject`` raise ``UserError`` for a suggestion no longer pending)."""

    def confirmed(self, *, team: str, channel: str, reply_ts: str, user: str,
                  faq_id: str) -> object: ...

    def alternatives(self, *, team: str, channel: str, reply_ts: str, user: str,
                     instead_of: str) -> list[str]: ...

    def accept(self, suggestion_id: int, *, by: str) -> object: ...

    def reject(self, suggestion_id: int, *, by: str) -> object: ...


class Escalations(Protocol):
    """Where questions handed to a person are kept (``bot.storage.Store``): each change
    applies once, whichever process asks first (False: it didn't apply)."""

    def escalate(self, *, team: str, channel: str, question_key: str, asker: str,
                 question: str | None, private: bool, experts: str,
                 thread_ts: str | None = None) -> tuple[Escalation, bool]: ...

    def escalation(self, escalation_id: int) -> Escalation | None: ...

    def escalation_in_thread(self, channel: str, thread_ts: str) -> Escalation | None: ...

    def change_escalation(self, escalation_id: int, change: str, **values: str) -> bool: ...

    def take_escalation_placement(self, escalation_id: int) -> bool: ...

    def escalations_due(self, before: datetime) -> list[Escalation]: ...

    def asked_question(self, *, team: str, channel: str, reply_ts: str,
                       user: str) -> AskedQuestion | None: ...


@dataclass(frozen=True)
class Handoff:
    """Asking a person: where escalations are kept, who gets them (FAQ_EXPERTS), the triage
    channel (ESCALATION_CHANNEL, "" for none), the reaction on an escalated question, and
    when an unanswered one gets its one reminder."""

    store: Escalations
    experts: Experts
    triage: str = ""
    reaction: str = "raising_hand"
    remind_minutes: float = 60.0

    def experts_for(self, channel: str, *, private: bool) -> Who | None:
        """Who a question asked in ``channel`` goes to; None when Ask a person can't be
        offered there: nobody set for it, or a private question (``/faq``, a DM) for a
        user group with no triage channel (a group can't be sent a direct message)."""
        who = self.experts.for_channel(channel)
        if who is None or (private and who.group and not self.triage):
            return None
        return who


def handoff_for(settings: Settings, escalations: Escalations) -> Handoff | None:
    """Asking a person as ``settings`` configure it; None when FAQ_EXPERTS is unset."""
    if not settings.faq_experts:
        return None
    return Handoff(store=escalations, experts=settings.faq_experts,
                   triage=settings.escalation_channel, reaction=settings.escalation_reaction,
                   remind_minutes=settings.escalation_remind_minutes)


# What an editor's App Home shows, as plain read-only data (``bot.report.home`` has them):
# the gathering needs numpy and the database, which this package never imports.

class UnansweredGroup(Protocol):
    @property
    def question(self) -> str | None: ...  # None: texts not logged
    @property
    def count(self) -> int: ...
    @property
    def people(self) -> int: ...


class PendingPhrasing(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def faq_id(self) -> str: ...
    @property
    def faq_question(self) -> str | None: ...  # None: the FAQ is gone
    @property
    def users(self) -> int: ...
    @property
    def too_close(self) -> bool: ...


class DislikedFaq(Protocol):
    @property
    def faq_id(self) -> str: ...
    @property
    def question(self) -> str: ...
    @property
    def down(self) -> int: ...
    @property
    def up(self) -> int: ...


class DayCount(Protocol):
    @property
    def day(self) -> date: ...
    @property
    def questions(self) -> int: ...
    @property
    def answered(self) -> int: ...


class WaitingEscalation(Protocol):
    """A question handed to a person and not resolved yet."""

    @property
    def id(self) -> int: ...
    @property
    def question(self) -> str | None: ...  # None: texts not logged
    @property
    def asker(self) -> str: ...
    @property
    def minutes(self) -> int: ...  # since it was escalated
    @property
    def claimed_by(self) -> str | None: ...
    @property
    def answered_by(self) -> str | None: ...
    @property
    def permalink(self) -> str | None: ...


class UnsavedReply(Protocol):
    """A person's answer to an escalated question, not yet saved as an FAQ."""

    @property
    def id(self) -> int: ...
    @property
    def question(self) -> str | None: ...
    @property
    def answered_by(self) -> str: ...
    @property
    def answer(self) -> str | None: ...
    @property
    def minutes(self) -> int: ...  # since the answer
    @property
    def permalink(self) -> str | None: ...


class HomeFacts(Protocol):
    """Each list holds the first few; its count says how many there are in all."""

    @property
    def learning(self) -> bool: ...
    @property
    def log_readable(self) -> bool: ...
    @property
    def grouped(self) -> bool: ...
    @property
    def unanswered_questions(self) -> int: ...
    @property
    def unanswered(self) -> Sequence[UnansweredGroup]: ...
    @property
    def unanswered_groups(self) -> int: ...
    @property
    def suggestions(self) -> Sequence[PendingPhrasing]: ...
    @property
    def suggestion_count(self) -> int: ...
    @property
    def disliked(self) -> Sequence[DislikedFaq]: ...
    @property
    def disliked_count(self) -> int: ...
    @property
    def days(self) -> Sequence[DayCount]: ...
    @property
    def open_escalations(self) -> Sequence[WaitingEscalation]: ...
    @property
    def open_escalation_count(self) -> int: ...
    @property
    def unsaved_replies(self) -> Sequence[UnsavedReply]: ...
    @property
    def unsaved_reply_count(self) -> int: ...


class Home(Protocol):
    """The facts behind an editor's App Home (``bot.report.home.HomeReport``)."""

    def facts(self) -> HomeFacts: ...


@dataclass(frozen=True)
class Services:
    answerer: Answerer
    deduper: ClaimStore
    faq_channels: frozenset[str] = frozenset()
    recorder: Recorder | None = None  # None: nothing is logged (tests, or no store)
    editing: FaqEditing | None = None  # None: the FAQ can't be edited from Slack
    editors: frozenset[str] = frozenset()  # FAQ_EDITORS
    learning: Learning | None = None  # None: clicks teach nothing
    home: Home | None = None  # None: the App Home shows editors no log
    handoff: Handoff | None = None  # None: Ask a person isn't offered (FAQ_EXPERTS unset)
    response_urls: ResponseUrls = field(
        default_factory=lambda: ResponseUrls.for_api_url(DEFAULT_SLACK_API_URL))

    @classmethod
    def for_settings(cls, settings: Settings, *, answerer: Answerer, deduper: ClaimStore,
                     recorder: Recorder | None = None, editing: FaqEditing | None = None,
                     learning: Learning | None = None, home: Home | None = None,
                     escalations: Escalations | None = None) -> Services:
        """The services ``settings`` ask for: FAQ_CHANNELS, FAQ_EDITORS, asking a person
        (FAQ_EXPERTS, with ``escalations`` to keep them), and response URLs on Slack's
        hosts or on SLACK_API_URL's origin."""
        handoff = None if escalations is None else handoff_for(settings, escalations)
        return cls(answerer=answerer, deduper=deduper, recorder=recorder, editing=editing,
                   learning=learning, home=home, handoff=handoff,
                   editors=settings.faq_editors, faq_channels=frozenset(settings.faq_channels),
                   response_urls=ResponseUrls.for_api_url(settings.slack_api_url))

    def may_edit(self, user: str) -> bool:
        """Only FAQ_EDITORS edit from Slack, and only where edits can be saved."""
        return self.editing is not None and user in self.editors

    def offers_a_person(self, channel: str, *, private: bool) -> bool:
        """Whether a reply in ``channel`` may offer Ask a person."""
        return self.handoff is not None and self.handoff.experts_for(
            channel, private=private) is not None

    def claim_for_good(self, team: str, scope: str, key: str) -> bool:
        """Claim and mark done at once: a click acts at most once, so its claim is no lease
        (one would let a repeat click act again once it ran out)."""
        if not self.deduper.claim(team, scope, key):
            return False
        self.deduper.complete(team, scope, key)
        return True

    def entry(self, faq_id: str) -> FaqRow | None:
        """The FAQ a button refers to; None if the dataset changed since it was posted."""
        return self.answerer.faq.by_id(faq_id)

    def examples(self, count: int = EXAMPLE_COUNT) -> list[str]:
        """Questions spread across the dataset, for /faq help and the App Home."""
        return self.answerer.faq.examples(count)


def services(context: Mapping[str, Any]) -> Services:
    """The ``Services`` that ``create_app`` attached to this request's context."""
    return context[CONTEXT_KEY]


def received_at(context: Mapping[str, Any]) -> float:
    """When the request reached the app (``time.monotonic()``): Slack's 3 s for an answer
    count from then, not from when a listener thread got to it. Now, if never stamped."""
    stamp = context.get(RECEIVED_KEY)
    return stamp if isinstance(stamp, float) else time.monotonic()
