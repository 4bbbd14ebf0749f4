"""Questions handed to a person ("Ask a person"), and what became of them.

One row per question, keyed by where it was asked (its message ts, or a /faq command's key),
so a button clicked three times, or on two processes, escalates it once. Every change is one
conditional UPDATE (claimed only while open, the first human reply only once, one reminder),
so two processes racing on one escalation can't both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update

from bot.storage import schema
from bot.storage.values import storable, storable_text

OPEN, CLAIMED, RESOLVED = "open", "claimed", "resolved"


@dataclass(frozen=True)
class Escalation:
    id: int
    team: str
    channel: str  # where it was asked
    question_key: str  # the question's ts, or "command:<trigger id>"
    asker: str
    question: str | None  # None under LOG_QUESTION_TEXT=false
    private: bool  # asked by /faq or DM: never posted where the asker didn't choose
    experts: str  # "S…" (a user group) or user ids joined by "|"
    status: str
    at: datetime
    thread_channel: str | None = None  # where the conversation with the experts lives
    thread_ts: str | None = None
    post_ts: str | None = None  # the bot's escalation message there
    placing_at: datetime | None = None  # when a process took the right to post it
    permalink: str | None = None  # Slack's link to it (chat.getPermalink)
    card_ts: str | None = None  # its card in ESCALATION_CHANNEL
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    answered_by: str | None = None
    answered_at: datetime | None = None
    answer: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    reminded_at: datetime | None = None
    saved_as: str | None = None  # the FAQ the answer became


_FIELDS = tuple(Escalation.__dataclass_fields__)


def _escalation(row) -> Escalation:
    return Escalation(**{name: getattr(row, name) for name in _FIELDS})


def open_escalation(connection: Connection, *, team: str, channel: str, question_key: str,
                    asker: str, question: str | None, private: bool, experts: str,
                    thread_ts: str | None = None) -> tuple[Escalation, bool]:
    """The question's escalation, and True if this call made it. ``thread_ts``: the thread
    it will live in, when that is the question's own (known before anything is posted, so
    a reply there counts even if it comes before the escalation's post is recorded)."""
    table = schema.escalations
    made = schema.insert_ignoring_duplicates(connection, table, storable({
        "team": team, "channel": channel, "question_key": question_key, "asker": asker,
        "question": question, "private": private, "experts": experts, "status": OPEN,
        "at": schema.utcnow(), "thread_channel": channel if thread_ts else None,
        "thread_ts": thread_ts}))
    row = connection.execute(select(table).where(
        table.c.team == storable_text(team), table.c.channel == storable_text(channel),
        table.c.question_key == storable_text(question_key))).first()
    assert row is not None  # inserted or found above, in this transaction
    return _escalation(row), made == 1


def read(connection: Connection, escalation_id: int) -> Escalation | None:
    row = connection.execute(select(schema.escalations)
                             .where(schema.escalations.c.id == escalation_id)).first()
    return None if row is None else _escalation(row)


def in_thread(connection: Connection, channel: str, thread_ts: str) -> Escalation | None:
    """The escalation whose conversation is the thread ``thread_ts`` in ``channel``."""
    table = schema.escalations
    row = connection.execute(select(table).where(
        table.c.thread_channel == storable_text(channel),
        table.c.thread_ts == storable_text(thread_ts))
        .order_by(table.c.id.desc()).limit(1)).first()  # the latest, if asked there twice
    return None if row is None else _escalation(row)


def _change(connection: Connection, escalation_id: int, *conditions, **values) -> bool:
    table = schema.escalations
    result = connection.execute(
        update(table).where(table.c.id == escalation_id, *conditions).values(**values),
        execution_options={"preserve_rowcount": True})
    return result.rowcount == 1


def take_placement(connection: Connection, escalation_id: int, lease: timedelta) -> bool:
    """The right to post the escalation, for one caller at a time: a lease, so a process
    that dies while posting holds it no longer than ``lease``."""
    table, now = schema.escalations, schema.utcnow()
    return _change(connection, escalation_id, table.c.post_ts.is_(None),
                   or_(table.c.placing_at.is_(None), table.c.placing_at < now - lease),
                   placing_at=now)


def release(connection: Connection, escalation_id: int) -> bool:
    """Posting it failed: the next click may try again at once."""
    table = schema.escalations
    return _change(connection, escalation_id, table.c.post_ts.is_(None), placing_at=None)


def placed(connection: Connection, escalation_id: int, *, thread_channel: str,
           thread_ts: str, post_ts: str, permalink: str = "") -> bool:
    """Where the escalation was posted; only the first placement counts."""
    return _change(connection, escalation_id, schema.escalations.c.post_ts.is_(None),
                   thread_channel=thread_channel, thread_ts=thread_ts, post_ts=post_ts,
                   permalink=storable_text(permalink) or None)


def carded(connection: Connection, escalation_id: int, card_ts: str) -> bool:
    return _change(connection, escalation_id, schema.escalations.c.card_ts.is_(None),
                   card_ts=card_ts)


def claim(connection: Connection, escalation_id: int, user: str) -> bool:
    table = schema.escalations
    return _change(connection, escalation_id, table.c.status == OPEN, status=CLAIMED,
                   claimed_by=user, claimed_at=schema.utcnow())


def resolve(connection: Connection, escalation_id: int, user: str) -> bool:
    table = schema.escalations
    return _change(connection, escalation_id, table.c.status != RESOLVED, status=RESOLVED,
                   resolved_by=user, resolved_at=schema.utcnow())


def reopen(connection: Connection, escalation_id: int) -> bool:
    """A resolved escalation, open again; not one the retention purged (nothing is left to
    answer, nor anyone to answer)."""
    table = schema.escalations
    return _change(connection, escalation_id, table.c.status == RESOLVED,
                   table.c.asker != schema.PURGED, status=OPEN,
                   resolved_by=None, resolved_at=None, claimed_by=None, claimed_at=None)


def answered(connection: Connection, escalation_id: int, *, user: str, text: str) -> bool:
    """The first reply in the thread from someone other than the asker; only once."""
    table = schema.escalations
    return _change(connection, escalation_id, table.c.answered_by.is_(None),
                   table.c.asker != storable_text(user), answered_by=user,
                   answered_at=schema.utcnow(), answer=storable_text(text))


def reminded(connection: Connection, escalation_id: int) -> bool:
    """Take the escalation's one reminder; False if another process took it already."""
    return _change(connection, escalation_id, schema.escalations.c.reminded_at.is_(None),
                   reminded_at=schema.utcnow())


def unremind(connection: Connection, escalation_id: int) -> bool:
    """The reminder taken could not be sent: it is owed again."""
    return _change(connection, escalation_id, schema.escalations.c.reminded_at.is_not(None),
                   reminded_at=None)


def saved_as(connection: Connection, escalation_id: int, faq_id: str) -> bool:
    return _change(connection, escalation_id, saved_as=storable_text(faq_id))


def due(connection: Connection, before: datetime) -> list[Escalation]:
    """Unresolved, placed escalations with no human reply, made before ``before``, not yet
    reminded about: the ones a reminder is owed."""
    table = schema.escalations
    rows = connection.execute(select(table).where(
        table.c.status != RESOLVED, table.c.answered_by.is_(None),
        table.c.reminded_at.is_(None), table.c.post_ts.is_not(None),
        table.c.at <= before).order_by(table.c.id)).all()
    return [_escalation(r) for r in rows]


def listed(connection: Connection, *, since: datetime | None = None) -> list[Escalation]:
    """Every escalation (made since ``since``), oldest first."""
    table = schema.escalations
    query = select(table).order_by(table.c.id)
    if since is not None:
        query = query.where(table.c.at >= since)
    return [_escalation(r) for r in connection.execute(query).all()]


# What ``Store.change_escalation`` may do, by name.
CHANGES = {"placed": placed, "carded": carded, "claim": claim, "resolve": resolve,
           "reopen": reopen, "answered": answered, "reminded": reminded,
           "unremind": unremind, "saved_as": saved_as, "release": release}
