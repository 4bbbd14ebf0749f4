"""The facts behind an FAQ editor's App Home, gathered from the log and the suggestions.

Slack's side (``bot.slack``) may touch neither numpy nor the database, so this gathers what
the view shows into plain, frozen data: the unanswered questions of the last 30 days grouped
like ``faqbot report`` groups them, the pending learned phrasings, the FAQs voted 👎 most,
the last 14 days' questions and answer rate, and the escalations waiting on someone: those
not resolved (however old), and the people's answers not yet saved as an FAQ. Every list
holds at most ``shown`` items plus its full count, so a view built from them has a bounded
size whatever the log holds.

A view is published on every open, so opens must be cheap: at most ``MAX_TEXTS`` distinct
texts are embedded, through a vector cache of the Home's own (a second open embeds nothing,
and the Home's texts never push the questions' vectors out of the answerer's cache). Anyone
can write a long question, so one open is bounded in time as well as in count: a text is
grouped by its first ``TEXT_CHARS`` characters, shortest texts first, and once
``EMBED_SECONDS`` are spent the rest wait for a later open (the cache keeps what was done).
The embedders bound each call's memory (the local one batches by tokens).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from bot.errors import UserError
from bot.faq.answerer import VectorCache
from bot.faq.policy import Decision
from bot.report.groups import Group, group_unanswered
from bot.report.summary import latest_votes
from bot.storage import Row, normalise, utcnow

if TYPE_CHECKING:
    from bot.faq.answerer import Answerer
    from bot.storage import Escalation, Log, Store, Waiting

log = logging.getLogger(__name__)

GROUP_DAYS = 30  # unanswered groups and 👎 votes
CHART_DAYS = 14  # questions per day
SHOWN = 5  # items kept per list; the counts say how many more there are
MAX_TEXTS = 200  # distinct unanswered texts embedded per open: the most asked ones
TEXT_CHARS = 300  # what of a text is embedded for grouping: a question's worth, not a page
EMBED_SECONDS = 2.0  # embedding one open may start; what is left waits for the next open
CHUNK_CHARS = 2000  # texts per embedder call, by length: the time is checked between calls


@dataclass(frozen=True)
class Unanswered:
    """A group of similar unanswered questions; ``question`` is its most asked phrasing
    (None when texts were not logged)."""

    question: str | None
    count: int
    people: int


@dataclass(frozen=True)
class Pending:
    """A learned phrasing waiting for an editor; ``faq_question`` None: its FAQ is gone."""

    id: int
    text: str
    faq_id: str
    faq_question: str | None
    users: int
    too_close: bool  # nearer another FAQ's phrasings than its own FAQ's


@dataclass(frozen=True)
class Disliked:
    faq_id: str
    question: str
    down: int
    up: int


@dataclass(frozen=True)
class Day:
    day: date
    questions: int
    answered: int  # an answer or choices


@dataclass(frozen=True)
class OpenEscalation:
    """A question handed to a person and not resolved; ``question`` None: not logged."""

    id: int
    question: str | None
    asker: str
    minutes: int  # since it was escalated
    claimed_by: str | None
    answered_by: str | None
    permalink: str | None  # the escalation's post in Slack, once placed


@dataclass(frozen=True)
class UnsavedReply:
    """A person's answer to an escalated question that no FAQ was saved from yet."""

    id: int
    question: str | None
    answered_by: str
    answer: str | None
    minutes: int  # since the answer
    permalink: str | None


@dataclass(frozen=True)
class HomeFacts:
    learning: bool  # phrasings are learned (LOG_QUESTION_TEXT is on)
    log_readable: bool  # False while the database is down
    grouped: bool = True  # False when the embedder failed: no groups this time
    unanswered_questions: int = 0  # in the last GROUP_DAYS days
    unanswered: tuple[Unanswered, ...] = ()
    unanswered_groups: int = 0  # all groups found (``unanswered`` holds the largest)
    suggestions: tuple[Pending, ...] = ()
    suggestion_count: int = 0
    disliked: tuple[Disliked, ...] = ()
    disliked_count: int = 0
    days: tuple[Day, ...] = ()
    open_escalations: tuple[OpenEscalation, ...] = ()  # oldest first
    open_escalation_count: int = 0
    unsaved_replies: tuple[UnsavedReply, ...] = ()  # latest answer first
    unsaved_reply_count: int = 0


class HomeReport:
    """``bot.slack.services.Home`` over one process's store and answerer."""

    def __init__(self, *, store: Store, answerer: Answerer,
                 too_close: Callable[[str, str], bool], shown: int = SHOWN,
                 max_texts: int = MAX_TEXTS, embed_seconds: float = EMBED_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.answerer = answerer
        self.too_close = too_close
        self.shown = shown
        self.max_texts = max_texts
        self.embed_seconds = embed_seconds
        self.clock = clock
        self.cache = VectorCache(max_texts)

    def facts(self, *, now: datetime | None = None) -> HomeFacts:
        """What an editor's App Home shows, as of ``now`` (naive UTC)."""
        now = now or utcnow()
        learning = self.store.logs_question_text
        logged = self.store.log_since(now - timedelta(days=GROUP_DAYS))
        suggestions = self.store.suggestions()
        pending = tuple(self._pending(s.id, s.text, s.faq_id, s.users, learning)
                        for s in suggestions[:self.shown])
        if logged is None:
            return HomeFacts(learning=learning, log_readable=False, suggestions=pending,
                             suggestion_count=len(suggestions))
        unanswered = [row for row in logged.questions if row["decision"] == Decision.NONE]
        groups = self._groups(unanswered)
        disliked = self._disliked(logged)
        waiting = self.store.waiting_escalations(self.shown)
        return HomeFacts(
            learning=learning, log_readable=True, grouped=groups is not None,
            unanswered_questions=len(unanswered),
            unanswered=tuple(_unanswered(g) for g in (groups or [])[:self.shown]),
            unanswered_groups=len(groups or []),
            suggestions=pending, suggestion_count=len(suggestions),
            disliked=tuple(disliked[:self.shown]), disliked_count=len(disliked),
            days=_days(logged.questions, now.date()),
            **_waiting(waiting, now))

    def _groups(self, rows: Sequence[Row]) -> list[Group] | None:
        """Groups of ``rows``, only the ``max_texts`` most asked texts embedded; None when
        the embedder failed (the view says so rather than failing to open)."""
        counts = Counter(normalise(str(row["text"])) for row in rows if row["text"] is not None)
        kept = [text for text, _ in counts.most_common(self.max_texts)]
        try:
            keep = self._embed_in_time(kept)
            rows = [row for row in rows
                    if row["text"] is None or normalise(str(row["text"])) in keep]
            return group_unanswered(rows, lambda: self._embed)
        except UserError as error:
            log.warning("App Home: unanswered questions not grouped: %s", error.problem)
            return None

    def _embed_in_time(self, texts: Sequence[str]) -> set[str]:
        """The ``texts`` that have vectors once this open's ``embed_seconds`` are spent:
        those cached, then the missing ones shortest first (so a batch is little padding,
        and a few long texts can't crowd out many short ones), a chunk per call."""
        deadline = self.clock() + self.embed_seconds
        missing = sorted((t for t in texts if self.cache.get(_key(t)) is None), key=len)
        done = set(texts) - set(missing)
        for chunk in _chunks(missing):
            if self.clock() >= deadline:
                log.info("App Home: %d unanswered texts left for a later open",
                         len(texts) - len(done))
                break
            self._embed(chunk)
            done.update(chunk)
        return done

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.answerer.embed_queries([_key(text) for text in texts], cache=self.cache)

    def _pending(self, suggestion_id: int, text: str, faq_id: str, users: int,
                 learning: bool) -> Pending:
        row = self.answerer.faq.by_id(faq_id)
        close = False
        if row is not None and learning:
            try:
                close = self.too_close(text, faq_id)
            except UserError as error:
                log.warning("App Home: suggestion %d not checked against other FAQs: %s",
                            suggestion_id, error.problem)
        return Pending(id=suggestion_id, text=text, faq_id=faq_id,
                       faq_question=row.question if row else None, users=users,
                       too_close=close)

    def _disliked(self, logged: Log) -> list[Disliked]:
        """FAQs with a 👎 (a person's last vote on an answer counts), most 👎 first; FAQs
        since retired are left out: there is nothing left to edit."""
        counts: dict[str, Counter[str]] = {}
        for vote in latest_votes(logged.votes):
            counts.setdefault(str(vote["faq_id"]), Counter())[str(vote["vote"])] += 1
        found = []
        for faq_id, counter in counts.items():
            row = self.answerer.faq.by_id(faq_id)
            if counter["down"] and row is not None:
                found.append(Disliked(faq_id=faq_id, question=row.question,
                                      down=counter["down"], up=counter["up"]))
        return sorted(found, key=lambda d: (-d.down, d.up, d.faq_id))


def _waiting(waiting: Waiting | None, now: datetime) -> dict[str, object]:
    """The escalation fields of ``HomeFacts``; none when the read failed (the database went
    down since the log was read: the next open shows them)."""
    if waiting is None:
        return {}
    return {
        "open_escalations": tuple(_open(e, now) for e in waiting.open),
        "open_escalation_count": waiting.open_count,
        "unsaved_replies": tuple(_unsaved(e, now) for e in waiting.unsaved),
        "unsaved_reply_count": waiting.unsaved_count,
    }


def _minutes(since: datetime, now: datetime) -> int:
    return max(0, int((now - since).total_seconds() // 60))


def _open(escalation: Escalation, now: datetime) -> OpenEscalation:
    return OpenEscalation(id=escalation.id, question=escalation.question,
                          asker=escalation.asker, minutes=_minutes(escalation.at, now),
                          claimed_by=escalation.claimed_by,
                          answered_by=escalation.answered_by,
                          permalink=escalation.permalink)


def _unsaved(escalation: Escalation, now: datetime) -> UnsavedReply:
    assert escalation.answered_by is not None  # the query's condition
    return UnsavedReply(id=escalation.id, question=escalation.question,
                        answered_by=escalation.answered_by, answer=escalation.answer,
                        minutes=_minutes(escalation.answered_at or escalation.at, now),
                        permalink=escalation.permalink)


def _key(text: str) -> str:
    """What of ``text`` is embedded (and cached) for grouping."""
    return text[:TEXT_CHARS]


def _chunks(texts: Sequence[str]) -> list[list[str]]:
    """``texts`` in order, cut into runs of about ``CHUNK_CHARS`` embedded characters."""
    chunks: list[list[str]] = []
    size = CHUNK_CHARS
    for text in texts:
        if size >= CHUNK_CHARS:
            chunks.append([])
            size = 0
        chunks[-1].append(text)
        size += len(_key(text))
    return chunks


def _unanswered(group: Group) -> Unanswered:
    return Unanswered(question=group.question, count=len(group.rows),
                      people=len({row["user_hash"] for row in group.rows}))


def _days(questions: Sequence[Row], today: date) -> tuple[Day, ...]:
    """The last ``CHART_DAYS`` days, today last, days without questions included."""
    first = today - timedelta(days=CHART_DAYS - 1)
    asked: Counter[date] = Counter()
    answered: Counter[date] = Counter()
    for row in questions:
        day = row["at"].date()  # type: ignore[attr-defined]
        if day >= first:
            asked[day] += 1
            answered[day] += row["decision"] != Decision.NONE
    days = [first + timedelta(days=n) for n in range(CHART_DAYS)]
    return tuple(Day(day=day, questions=asked[day], answered=answered[day]) for day in days)
