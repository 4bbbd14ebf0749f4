"""The question log, the feedback store, the cross-process dedupe and the FAQ edits, in one
database.

SQLite by default, PostgreSQL (``DATABASE_URL``) when several dynos share the work. The
database is never allowed to stop a reply: when it is down, claims fall back to this process
(warned once per outage), log rows are dropped, and it is retried every ``retry_interval``
seconds; keys claimed meanwhile are written back once it answers again.

A row the database refuses (a ``DataError`` or ``IntegrityError``: that row's values, not
the server) is dropped with a warning, and the database stays in use for everything else.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, delete, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from bot.config import DEFAULT_LEASE_SECONDS
from bot.errors import UserError
from bot.storage import escalations, faq_edits, learning, queries, retention, schema
from bot.storage.claims import LocalClaims
from bot.storage.escalations import Escalation
from bot.storage.faq_edits import StoredEdit
from bot.storage.learning import AskedQuestion, Suggestion
from bot.storage.outage import Outage
from bot.storage.privacy import text_hash, user_hash
from bot.storage.queries import Log, Waiting
from bot.storage.retention import Purged
from bot.storage.url import describe_error, open_engine, parse_url, redact, vet_choice
from bot.storage.values import storable, storable_text

if TYPE_CHECKING:
    from sqlalchemy import URL, Engine

    from bot.config import Settings
    from bot.faq.policy import Answer, Hit

log = logging.getLogger(__name__)

T = TypeVar("T")
D = TypeVar("D")
VOTES = ("up", "down")
DEFAULT_RETRY_INTERVAL = 10.0
# Slack stops redelivering an event after minutes; a claim older than a day guards nothing.
CLAIM_TTL = timedelta(days=1)
PRUNE_EVERY = 1000  # claims between two deletions of expired ones


class _Unavailable(Exception):
    """The database was not tried (inside the retry interval) or failed; already logged."""


class _Refused(_Unavailable):
    """The database is up but refused this statement's values; already logged."""


class Store:
    """Use one per process; every method is thread-safe and none raises on a database error."""

    def __init__(self, engine: Engine, url: URL, *, log_question_text: bool = True,
                 retry_interval: float = DEFAULT_RETRY_INTERVAL,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self._engine = engine
        self._url = url
        self._log_question_text = log_question_text
        self._lease = timedelta(seconds=lease_seconds)
        self._local = LocalClaims()
        self._claims_made = itertools.count(1)
        self._outage = Outage(target=redact(url), log=log, retry_interval=retry_interval)
        self._schema_version: int | None = None
        self._schema_lock = threading.Lock()
        # Create the schema now if we can; if not, the warning is out and claims stay local.
        with contextlib.suppress(_Unavailable):
            self._attempt(lambda _connection: None, force=True)

    @classmethod
    def from_url(cls, url: str | None = None, *, log_question_text: bool = True,
                 retry_interval: float = DEFAULT_RETRY_INTERVAL,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS) -> Store:
        """Open ``url`` (DATABASE_URL; unset means the per-user default). A malformed URL is a
        ``UserError``; an unreachable database is not an error here."""
        parsed = parse_url(url)
        return cls(open_engine(parsed), parsed, log_question_text=log_question_text,
                   retry_interval=retry_interval, lease_seconds=lease_seconds)

    def claim(self, team: str, channel: str, ts: str) -> bool:
        """True for exactly one caller per (team, channel, ts), across processes sharing the
        database; while it is down, exactly one per process.

        A claim is a lease until ``complete``: one whose reply never went out (the process
        died mid-reply) is taken again by a delivery that comes after the lease, as Slack's
        retries do.
        """
        key = (team, channel, ts)
        if self._local.seen(key):
            return False
        try:
            won = self._attempt(lambda c: self._take(c, team, channel, ts))
        except _Refused:  # never storable, so never written back either
            return self._local.add(key, pending=False)
        except _Unavailable:
            return self._local.add(key, pending=True)
        if won:
            self._local.add(key, pending=False)
            if next(self._claims_made) % PRUNE_EVERY == 0:
                self.prune_claims()
        return won

    def complete(self, team: str, channel: str, ts: str) -> None:
        """The reply to (team, channel, ts) went out (or silence was the answer): keep it."""
        with contextlib.suppress(_Unavailable, _Refused):
            self._attempt(lambda c: c.execute(
                update(schema.claims).where(*_is_claim(team, channel, ts)).values(done=True)))

    def _take(self, connection: Connection, team: str, channel: str, ts: str) -> bool:
        """Insert the claim, or take over one whose lease ran out without a reply."""
        claims, now = schema.claims, schema.utcnow()
        row = {"team": team, "channel": channel, "ts": ts, "at": now, "done": False}
        if schema.insert_ignoring_duplicates(connection, claims, storable(row)) == 1:
            return True
        expired = connection.execute(
            update(claims).where(*_is_claim(team, channel, ts), claims.c.done.is_(False),
                                 claims.c.at < now - self._lease).values(at=now),
            execution_options={"preserve_rowcount": True})
        if expired.rowcount == 1:
            log.warning("took over a claim whose reply never went out (a crash?): %s %s",
                        channel, ts)
            return True
        return False

    def prune_claims(self) -> None:
        """Delete claims older than ``CLAIM_TTL``, so the table stays small for ever."""
        cutoff = schema.utcnow() - CLAIM_TTL
        with contextlib.suppress(_Unavailable):
            self._attempt(lambda c: c.execute(delete(schema.claims)
                                              .where(schema.claims.c.at < cutoff)))

    def purge_log(self, older_than: timedelta, *, batch: int = retention.BATCH_ROWS,
                  between: Callable[[], bool] = lambda: True) -> Purged | None:
        """Erase what LOG_RETENTION_DAYS says goes (``bot.storage.retention``) from what is
        older than ``older_than``: one short transaction per batch of at most ``batch`` rows,
        so replies in this and other processes write between them. ``between`` runs after
        each batch (a pause that lets other writers in; False stops the purge). None when the
        database is down or refused a batch: the next purge picks up where this one stopped.
        """
        cutoff = schema.utcnow() - older_than
        purged = Purged()
        for name, step in retention.STEPS:
            while True:
                try:
                    done = self._attempt(lambda c, step=step: step(c, cutoff, batch))
                except _Unavailable:
                    return None
                purged.add(name, done)
                if not between():
                    return purged
                if done < batch:
                    break
        return purged

    def log_question(self, *, team: str, channel: str, ts: str, user: str, text: str,
                     answer: Answer, latency_ms: float, direct: bool = False,
                     reply_ts: str | None = None) -> None:
        """Record a question the bot considered. ``direct``: a mention, DM or /faq;
        ``reply_ts``: the bot's reply, which clicks on it lead back from."""
        text = storable_text(text)
        self._write(schema.questions, {
            "at": schema.utcnow(), "team": team, "channel": channel, "ts": ts,
            "user_hash": user_hash(team, user),
            "text": text if self._log_question_text else None,
            "text_hash": text_hash(team, text), "decision": str(answer.decision),
            "direct": direct,
            "candidates": [{"id": hit.id, "score": round(hit.score, 4),
                            **({"near": True} if hit in answer.near else {})}
                           for hit in _offered(answer)],
            "latency_ms": float(latency_ms), "reply_ts": reply_ts})

    def log_vote(self, *, team: str, channel: str, message_ts: str, user: str, faq_id: str,
                 vote: str) -> None:
        """Record a 👍 (``"up"``) or 👎 (``"down"``) on the answer in message ``message_ts``."""
        if vote not in VOTES:
            raise ValueError(f"vote must be 'up' or 'down', not {vote!r}")
        self._write(schema.votes, {
            "at": schema.utcnow(), "team": team, "channel": channel, "message_ts": message_ts,
            "user_hash": user_hash(team, user), "faq_id": faq_id, "vote": vote})

    def log_choice(self, *, team: str, channel: str, message_ts: str, user: str, chosen: str,
                   shown: Sequence[str]) -> None:
        """Record a click on one of the choices; ``shown`` is the FAQ ids offered, in order."""
        self._write(schema.choices, {
            "at": schema.utcnow(), "team": team, "channel": channel, "message_ts": message_ts,
            "user_hash": user_hash(team, user), "chosen": chosen, "shown": list(shown)})

    @property
    def logs_question_text(self) -> bool:
        """False under LOG_QUESTION_TEXT=false: there is no text to learn phrasings from."""
        return self._log_question_text

    def asked_question(self, *, team: str, channel: str, reply_ts: str,
                       user: str) -> AskedQuestion | None:
        """What ``user`` asked that the bot's message ``reply_ts`` answered; None when
        someone else asked it, or the database is down."""
        return self._or(None, lambda c: learning.asked_question(
            c, team=team, channel=channel, reply_ts=reply_ts, user=user))

    def confirm_suggestion(self, *, team: str, faq_id: str, text: str,
                           user: str) -> Suggestion | None:
        """``user`` confirmed ``text`` as a phrasing of ``faq_id``; None if not stored."""
        return self._or(None, lambda c: learning.confirm(
            c, team=team, faq_id=faq_id, text=storable_text(text), user=user))

    def suggestions(self, status: str = learning.PENDING, *, faq_id: str | None = None,
                    at_least: int = 0, limit: int | None = None) -> list[Suggestion]:
        """Suggestions with ``status`` (of ``faq_id`` only, if given) confirmed by
        ``at_least`` users, most confirmed first, at most ``limit`` ([] while the database
        is down)."""
        return self._or([], lambda c: learning.listed(c, status, faq_id=faq_id,
                                                      at_least=at_least, limit=limit))

    def suggestion(self, suggestion_id: int) -> Suggestion | None:
        return self._or(None, lambda c: learning.read(c, suggestion_id))

    def decide_suggestion(self, suggestion_id: int, status: str, *, by: str) -> bool:
        """Accept or reject a pending suggestion; False if it wasn't pending."""
        if status not in (learning.ACCEPTED, learning.REJECTED):
            raise ValueError(f"status must be accepted or rejected, not {status!r}")
        return self._must(lambda c: learning.decide(c, suggestion_id, status, by),
                          "the suggestion was not updated")

    def escalate(self, *, team: str, channel: str, question_key: str, asker: str,
                 question: str | None, private: bool, experts: str,
                 thread_ts: str | None = None) -> tuple[Escalation, bool]:
        """The question's escalation, made once however often it is asked for; True if this
        call made it. ``UserError`` while the database is down: a hand-off must not vanish."""
        text = question if self.logs_question_text else None
        return self._must(lambda c: escalations.open_escalation(
            c, team=team, channel=channel, question_key=question_key, asker=asker,
            question=None if text is None else storable_text(text), private=private,
            experts=experts, thread_ts=thread_ts), "the question was not handed to a person")

    def escalation(self, escalation_id: int) -> Escalation | None:
        return self._or(None, lambda c: escalations.read(c, escalation_id))

    def escalation_in_thread(self, channel: str, thread_ts: str) -> Escalation | None:
        return self._or(None, lambda c: escalations.in_thread(c, channel, thread_ts))

    def change_escalation(self, escalation_id: int, change: str, **values: str) -> bool:
        """One of ``escalations``' conditional changes (``placed``, ``carded``, ``claim``,
        ``resolve``, ``reopen``, ``answered``, ``reminded``, ``saved_as``) by name; True if
        it applied, False if the escalation was not in the state it needs."""
        if change not in escalations.CHANGES:
            raise ValueError(f"no escalation change {change!r}")
        work = escalations.CHANGES[change]
        return self._must(lambda c: work(c, escalation_id, **values),
                          f"the escalation was not updated ({change})")

    def take_escalation_placement(self, escalation_id: int) -> bool:
        """The right to post the escalation (one caller at a time, for at most the claim
        lease, so a crash mid-post doesn't hold it for ever)."""
        return self._must(lambda c: escalations.take_placement(c, escalation_id, self._lease),
                          "the question was not handed to a person")

    def escalations_due(self, before: datetime) -> list[Escalation]:
        return self._or([], lambda c: escalations.due(c, before))

    def escalations(self, *, since: datetime | None = None) -> list[Escalation] | None:
        return self._or(None, lambda c: escalations.listed(c, since=since))

    def waiting_escalations(self, shown: int) -> Waiting | None:
        """The open escalations and the unsaved human answers, the first ``shown`` of each
        with their counts, for the App Home; None while the database is down."""
        return self._or(None, lambda c: queries.waiting_escalations(c, shown))

    def log_since(self, since: datetime) -> Log | None:
        """The log from ``since`` on, for the App Home; None while the database is down."""
        return self._or(None, lambda c: queries.log_since(c, since))

    def faq_version(self) -> int | None:
        """The FAQ change counter (one single-row read); None while the database is down."""
        return self._or(None, faq_edits.current_version)

    def faq_edits(self) -> list[StoredEdit] | None:
        """Every stored FAQ edit, oldest change first; None while the database is down."""
        return self._or(None, faq_edits.read_edits)

    def save_faq_edit(self, edit: StoredEdit, *, new: bool = False,
                      expected: int | None = None) -> int | None:
        """Store an FAQ edit and bump the change counter; returns the new version, or None
        for a ``new`` FAQ whose id another process stored first. ``expected``: the version of
        the FAQ's stored edit the change was made from (0: none); ``StaleEdit`` when it moved.

        Unlike the log, an edit must not vanish quietly: a ``UserError`` says it wasn't saved.
        """
        try:
            return self._must(lambda c: faq_edits.write_edit(c, edit, new=new,
                                                             expected=expected),
                              "the FAQ edit was not saved")
        except faq_edits.IdTaken:
            return None

    def record_faq_push(self, version: int) -> None:
        """The edits up to ``version`` reached the Hub (``faqbot export --push-to-hub``)."""
        self._must(lambda c: faq_edits.record_push(c, version), "the push was not recorded")

    def clear_pushed_faq_edits(self) -> int:
        """Delete the edits the last push carried to the Hub; returns how many."""
        return self._must(faq_edits.clear_pushed, "no edits were cleared")

    def _or(self, down: D, work: Callable[[Connection], T]) -> T | D:
        """``work``'s result, or ``down`` while the database is down: for reads the bot
        carries on without (the outage is logged once, by ``_attempt``)."""
        try:
            return self._attempt(work)
        except _Unavailable:
            return down

    def _must(self, work: Callable[[Connection], T], what: str) -> T:
        try:
            return self._attempt(work, force=True)
        except _Unavailable as problem:
            raise UserError(f"cannot use {redact(self._url)} ({problem}); {what}",
                            "check DATABASE_URL and that the database is up") from None

    def ping(self) -> str:
        """For ``faqbot check``: what was found, or a ``UserError``; never shows the password."""
        try:
            self._attempt(lambda c: c.scalar(select(1)), force=True)
        except _Unavailable as problem:
            raise UserError(f"cannot use {redact(self._url)}: {problem}",
                            "check DATABASE_URL and that the database is up; until then "
                            "faqbot answers with per-process dedupe and logs nothing") from None
        return f"{redact(self._url)} (schema version {self._schema_version})"

    def close(self) -> None:
        self._engine.dispose()

    def _write(self, table: Table, row: dict[str, object]) -> None:
        row = storable(row)
        try:
            self._attempt(lambda c: c.execute(insert(table), row))
        except _Refused:
            pass
        except _Unavailable:
            self._outage.dropped()

    def _attempt(self, work: Callable[[Connection], T], *, force: bool = False) -> T:
        """Run ``work`` in a transaction, after creating the schema and writing back the
        keys claimed during an outage. Raises ``_Refused`` when the database rejects the
        values, and ``_Unavailable`` on any other database error."""
        if not (force or self._outage.should_try()):
            raise _Unavailable("not retried yet")
        attempt = self._outage.attempt()
        try:
            self._ensure_schema()
            pending = self._local.pending()
            with self._engine.begin() as connection:
                if pending:
                    schema.insert_ignoring_duplicates(connection, schema.claims, [
                        {"team": t, "channel": c, "ts": ts, "at": schema.utcnow(), "done": True}
                        for t, c, ts in pending])
                result = work(connection)
        except (DataError, IntegrityError) as error:
            problem = describe_error(error, self._url)
            log.warning("the database refused a row (%s); dropped it, the database stays in "
                        "use", problem)
            raise _Refused(problem) from None
        except SQLAlchemyError as error:
            problem = describe_error(error, self._url)
            self._outage.failed(problem)
            raise _Unavailable(problem) from None
        self._local.mark_stored(pending)
        self._outage.succeeded(attempt)
        return result

    def _ensure_schema(self) -> None:
        with self._schema_lock:
            if self._schema_version is None:
                self._schema_version = schema.ensure_schema(self._engine)


def _is_claim(team: str, channel: str, ts: str) -> tuple[ColumnElement[bool], ...]:
    """The claim of (team, channel, ts), as stored: NULs dropped, surrogates replaced."""
    claims = schema.claims
    return (claims.c.team == storable_text(team), claims.c.channel == storable_text(channel),
            claims.c.ts == storable_text(ts))


def _log_warning(warning: str) -> None:
    log.warning("%s", warning)


def open_store(settings: Settings, *, warn: Callable[[str], None] = _log_warning) -> Store:
    """The store the configuration asks for (DATABASE_URL, LOG_QUESTION_TEXT). SQLite on
    Heroku is a ``UserError``; a database left in the working folder by an older faqbot,
    which the default no longer reads, is passed to ``warn`` (logged, unless the caller
    shows it its own way) on every start."""
    warning = vet_choice(settings)
    if warning:
        warn(warning)
    return Store.from_url(settings.database_url or None,
                          log_question_text=settings.log_question_text,
                          lease_seconds=settings.claim_lease_seconds)


def _offered(answer: Answer) -> list[Hit]:
    """What the asker was shown (the answer, the choices, or on a miss "Maybe one of these?"),
    then the other FAQs closest by cosine: every FAQ a click on the reply, or on what follows
    a 👎, may name."""
    offered: dict[str, Hit] = {}
    for hit in (*answer.shown, *answer.near, *answer.candidates):
        offered.setdefault(hit.id, hit)
    return list(offered.values())
