"""Phrasings learned from use: suggestions, who confirmed them, and the question behind a
reply.

A question becomes a suggested alternate of an FAQ when its own asker picks that FAQ among
the choices, or votes 👍 on its answer. Each distinct (pseudonymous) user who does so is one
confirmation; accepting or rejecting is recorded on the suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from bot.storage import schema
from bot.storage.privacy import normalise, phrasing_hash, user_hash
from bot.storage.values import storable, storable_text

PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"
STATUSES = (PENDING, ACCEPTED, REJECTED)


@dataclass(frozen=True)
class Suggestion:
    id: int
    faq_id: str
    text: str
    status: str
    users: int  # distinct users who confirmed it
    at: datetime


@dataclass(frozen=True)
class AskedQuestion:
    """The question a reply answered, as its own asker may see it."""

    text: str | None  # None under LOG_QUESTION_TEXT=false
    candidates: tuple[str, ...]  # the FAQ ids shown, then the others that came closest
    decision: str  # what the reply was: "answer", "choices" or "none"
    ts: str = ""  # the question's message ts, or a /faq command's key
    near: tuple[str, ...] = ()  # on a miss: the FAQs "Maybe one of these?" offered


def asked_question(connection: Connection, *, team: str, channel: str, reply_ts: str,
                   user: str) -> AskedQuestion | None:
    """The question the bot's message ``reply_ts`` answered, if ``user`` asked it."""
    questions = schema.questions
    row = connection.execute(
        select(questions.c.text, questions.c.user_hash, questions.c.candidates,
               questions.c.decision, questions.c.ts)
        .where(questions.c.channel == storable_text(channel),
               questions.c.reply_ts == storable_text(reply_ts))
        .order_by(questions.c.id.desc()).limit(1)).first()
    if row is None or row.user_hash != user_hash(team, user):
        return None
    candidates = tuple(str(c.get("id")) for c in row.candidates or ()
                       if isinstance(c, dict) and c.get("id"))
    near = tuple(str(c.get("id")) for c in row.candidates or ()
                 if isinstance(c, dict) and c.get("id") and c.get("near") is True)
    return AskedQuestion(text=row.text, candidates=candidates, decision=str(row.decision),
                         ts=row.ts, near=near)


def confirm(connection: Connection, *, team: str, faq_id: str, text: str,
            user: str) -> Suggestion:
    """Count ``user`` as confirming ``text`` as a phrasing of ``faq_id`` (once per user)."""
    suggestions, now = schema.suggestions, schema.utcnow()
    key = normalise(text)

    def found(stored_key: str) -> int | None:
        return connection.scalar(
            select(suggestions.c.id).where(suggestions.c.faq_id == storable_text(faq_id),
                                           suggestions.c.key == storable_text(stored_key)))

    # A rejected phrasing whose text the retention purged is known by its hash: it stays
    # rejected, rather than coming back as a new suggestion.
    suggestion_id = found(phrasing_hash(storable_text(key)))
    if suggestion_id is None:
        schema.insert_ignoring_duplicates(connection, suggestions, storable({
            "faq_id": faq_id, "text": text, "key": key, "status": PENDING, "at": now}))
        suggestion_id = found(key)
    schema.insert_ignoring_duplicates(connection, schema.confirmations, {
        "suggestion_id": suggestion_id, "user_hash": user_hash(team, user), "at": now})
    found = read(connection, suggestion_id)
    assert found is not None  # inserted or found above, in this transaction
    return found


def _query():
    suggestions, confirmations = schema.suggestions, schema.confirmations
    users = (select(func.count()).where(confirmations.c.suggestion_id == suggestions.c.id)
             .scalar_subquery())
    return select(suggestions, users.label("users"))


def _suggestion(row) -> Suggestion:
    return Suggestion(id=row.id, faq_id=row.faq_id, text=row.text, status=row.status,
                      users=int(row.users), at=row.at)


def read(connection: Connection, suggestion_id: int) -> Suggestion | None:
    row = connection.execute(_query().where(schema.suggestions.c.id == suggestion_id)).first()
    return None if row is None else _suggestion(row)


def listed(connection: Connection, status: str = PENDING, *, faq_id: str | None = None,
           at_least: int = 0, limit: int | None = None) -> list[Suggestion]:
    """Suggestions with ``status`` (of ``faq_id`` only, if given) confirmed by ``at_least``
    users, the most confirmed first, at most ``limit`` of them."""
    query = _query().subquery()
    found = select(query).where(query.c.status == status, query.c.users >= at_least)
    if faq_id is not None:
        found = found.where(query.c.faq_id == storable_text(faq_id))
    rows = connection.execute(
        found.order_by(query.c.users.desc(), query.c.id).limit(limit)).all()
    return [_suggestion(r) for r in rows]


def decide(connection: Connection, suggestion_id: int, status: str, by: str) -> bool:
    """Accept or reject a pending suggestion; False if it was not pending (any more)."""
    suggestions = schema.suggestions
    result = connection.execute(
        update(suggestions).where(suggestions.c.id == suggestion_id,
                                  suggestions.c.status == PENDING)
        .values(status=status, decided_by=storable_text(by)),
        execution_options={"preserve_rowcount": True})
    return result.rowcount == 1
