"""What LOG_RETENTION_DAYS erases, one small batch at a time.

Past the retention, the log keeps its counts and loses its people and their words:

- a question row keeps when, where, the decision, the FAQs and scores, and the latency (the
  report's counts, rates and per-FAQ figures); its text, text hash, asker and the ts of the
  message and of the reply (which lead back to the asker) are blanked;
- a vote keeps its FAQ and 👍/👎; the voter and the message are blanked. A vote its voter
  changed later never counts, so it is deleted instead (blanked, it would count twice);
- a choice click keeps what was chosen among what was shown; the clicker and the message go;
- a learned phrasing's confirmations (who confirmed it) are deleted; a pending phrasing
  nobody confirmed within the retention is deleted; a rejected one keeps only a hash of its
  text, so the same phrasing is not suggested (or accepted by itself) again; an accepted one
  is FAQ content and stays;
- an escalation is erased (question, answer, asker, link, and the question's ts and thread,
  which lead back to the asker) once it was resolved longer ago than the retention; until
  then its expert needs all of it, however old it is.

Each step is one short transaction over at most ``limit`` rows, picked oldest first, whose
statements re-check "not purged yet": purges running at once in several processes redo
nothing and collide only row by row, and none holds a lock for long.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import (
    Connection,
    String,
    Table,
    and_,
    cast,
    delete,
    exists,
    literal,
    or_,
    select,
    update,
)

from bot.storage import schema
from bot.storage.escalations import RESOLVED
from bot.storage.learning import PENDING, REJECTED
from bot.storage.privacy import phrasing_hash

BATCH_ROWS = 500  # one batch: a few milliseconds of one table's write lock


@dataclass
class Purged:
    """Rows purged (blanked, hashed or deleted) by one purge, per kind."""

    questions: int = 0
    votes: int = 0
    choices: int = 0
    confirmations: int = 0
    suggestions: int = 0
    escalations: int = 0

    def add(self, name: str, count: int) -> None:
        setattr(self, name, getattr(self, name) + count)

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def __str__(self) -> str:
        return ", ".join(f"{getattr(self, f.name)} {f.name}" for f in fields(self)
                         if getattr(self, f.name)) or "nothing"


def is_purged(row: Mapping[str, object]) -> bool:
    """A log row (question, vote or choice) past the retention: no longer anyone's."""
    return row.get("user_hash") == schema.PURGED


# (connection, cutoff, limit) → rows handled; fewer than ``limit`` means nothing is left.
Step = Callable[[Connection, datetime, int], int]


def _oldest(table: Table, cutoff: datetime, limit: int):
    """At most ``limit`` unpurged rows older than ``cutoff``, oldest first: a range of the
    partial index of unpurged rows."""
    return (select(table.c.id).where(table.c.at < cutoff, schema.not_purged(table))
            .order_by(table.c.at, table.c.id).limit(limit))


def _rowcount(connection: Connection, statement) -> int:
    return connection.execute(statement, execution_options={"preserve_rowcount": True}).rowcount


def _blank(table: Table, ids, **blanked: object):
    """Blank the user hash and ``blanked`` of the rows ``ids`` not purged meanwhile."""
    return (update(table).where(table.c.id.in_(ids), schema.not_purged(table))
            .values(user_hash=schema.PURGED, **blanked))


def purge_questions(connection: Connection, cutoff: datetime, limit: int) -> int:
    questions = schema.questions
    return _rowcount(connection, _blank(
        questions, _oldest(questions, cutoff, limit).scalar_subquery(), text=None,
        text_hash=schema.PURGED, ts=schema.PURGED, reply_ts=None))


def purge_choices(connection: Connection, cutoff: datetime, limit: int) -> int:
    choices = schema.choices
    return _rowcount(connection, _blank(
        choices, _oldest(choices, cutoff, limit).scalar_subquery(), message_ts=schema.PURGED))


def purge_votes(connection: Connection, cutoff: datetime, limit: int) -> int:
    """The report counts only a person's last vote on an answer, which it can't tell once
    the voter is blanked: so, in one transaction over the same oldest votes, those their
    voter changed later are deleted, and the rest blanked. Oldest first, so no later vote
    is blanked before the earlier ones were compared with it."""
    votes = schema.votes
    ids = list(connection.scalars(_oldest(votes, cutoff, limit)))
    if not ids:
        return 0
    later = votes.alias("later")
    changed = exists().where(
        later.c.channel == votes.c.channel, later.c.message_ts == votes.c.message_ts,
        later.c.team == votes.c.team, later.c.faq_id == votes.c.faq_id,
        later.c.user_hash == votes.c.user_hash,
        or_(later.c.at > votes.c.at, and_(later.c.at == votes.c.at, later.c.id > votes.c.id)))
    connection.execute(delete(votes).where(votes.c.id.in_(ids), schema.not_purged(votes),
                                           changed))
    connection.execute(_blank(votes, ids, message_ts=schema.PURGED))
    return len(ids)


def purge_confirmations(connection: Connection, cutoff: datetime, limit: int) -> int:
    """Who confirmed a learned phrasing: deleted, whatever became of the phrasing."""
    confirmations = schema.confirmations
    oldest = (select(confirmations.c.suggestion_id, confirmations.c.user_hash)
              .where(confirmations.c.at < cutoff)
              .order_by(confirmations.c.at).limit(limit).subquery())
    return _rowcount(connection, delete(confirmations).where(
        confirmations.c.at < cutoff,
        exists().where(oldest.c.suggestion_id == confirmations.c.suggestion_id,
                       oldest.c.user_hash == confirmations.c.user_hash)))


def purge_suggestions(connection: Connection, cutoff: datetime, limit: int) -> int:
    """Pending or rejected phrasings no one confirmed within the retention (run after
    ``purge_confirmations``): pending ones are deleted, rejected ones keep only a hash."""
    suggestions, confirmations = schema.suggestions, schema.confirmations
    stale = (suggestions.c.at < cutoff,
             ~exists().where(confirmations.c.suggestion_id == suggestions.c.id))
    pending = (select(suggestions.c.id).where(*stale, suggestions.c.status == PENDING)
               .order_by(suggestions.c.id).limit(limit).scalar_subquery())
    deleted = _rowcount(connection, delete(suggestions).where(
        suggestions.c.id.in_(pending), *stale, suggestions.c.status == PENDING))
    rejected = connection.execute(select(suggestions.c.id, suggestions.c.key).where(
        *stale, suggestions.c.status == REJECTED, suggestions.c.text != schema.PURGED)
        .order_by(suggestions.c.id).limit(limit)).all()
    for row in rejected:
        connection.execute(update(suggestions).where(suggestions.c.id == row.id)
                           .values(text=schema.PURGED, key=phrasing_hash(row.key)))
    return deleted + len(rejected)


def purge_escalations(connection: Connection, cutoff: datetime, limit: int) -> int:
    """Escalations resolved before the cutoff; open ones keep everything, however old."""
    escalations = schema.escalations
    due = (escalations.c.status == RESOLVED, escalations.c.resolved_at < cutoff,
           escalations.c.asker != schema.PURGED)
    ids = (select(escalations.c.id).where(*due).order_by(escalations.c.resolved_at)
           .limit(limit).scalar_subquery())
    # The question's key is its message's ts, and a public one's thread is that message:
    # both lead back to the asker. The key stays unique, as the table needs.
    key = literal("purged:").concat(cast(escalations.c.id, String))
    return _rowcount(connection, update(escalations).where(escalations.c.id.in_(ids), *due)
                     .values(question=None, answer=None, asker=schema.PURGED, permalink=None,
                             question_key=key, thread_channel=None, thread_ts=None))


# In order: confirmations before the suggestions they keep alive.
STEPS: tuple[tuple[str, Step], ...] = (
    ("questions", purge_questions), ("votes", purge_votes), ("choices", purge_choices),
    ("confirmations", purge_confirmations), ("suggestions", purge_suggestions),
    ("escalations", purge_escalations))
