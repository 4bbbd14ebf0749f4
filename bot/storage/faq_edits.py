"""FAQ edits in the database, and the change counter every process polls.

Each write bumps the counter in its own transaction (``version = version + 1``, atomic on
SQLite and PostgreSQL alike), so a process that saw version N and now reads N+1 knows to
reload, and one that reads N again costs one single-row SELECT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from bot.storage import schema
from bot.storage.values import storable, storable_text

PUSHED_KEY = "faq_pushed_version"


@dataclass(frozen=True)
class StoredEdit:
    """One edited FAQ as stored: its text, who changed it and when, and its vectors."""

    faq_id: str
    question: str
    answer: str
    url: str = ""
    alternates: tuple[str, ...] = ()
    category: str = ""
    retired: bool = False
    vectors: bytes | None = None  # float32, one row per phrasing
    model_id: str = ""
    editor: str = ""
    at: datetime | None = None
    version: int = 0


def current_version(connection: Connection) -> int:
    return int(connection.scalar(select(schema.faq_changes.c.version)
                                 .where(schema.faq_changes.c.id == 1)) or 0)


def _bump(connection: Connection) -> int:
    connection.execute(update(schema.faq_changes).where(schema.faq_changes.c.id == 1)
                       .values(version=schema.faq_changes.c.version + 1))
    return current_version(connection)


def read_edits(connection: Connection) -> list[StoredEdit]:
    """Every edit, oldest change first (so FAQs added later come later in the merged FAQ)."""
    table = schema.faq_edits
    rows = connection.execute(select(table).order_by(table.c.version)).mappings()
    return [StoredEdit(faq_id=r["faq_id"], question=r["question"], answer=r["answer"],
                       url=r["url"], alternates=tuple(r["alternates"] or ()),
                       category=r["category"], retired=r["retired"], vectors=r["vectors"],
                       model_id=r["model_id"], editor=r["editor"], at=r["at"],
                       version=r["version"]) for r in rows]


class IdTaken(Exception):
    """A new FAQ's id was stored by another process first; the transaction is rolled back."""


class StaleEdit(Exception):
    """The FAQ changed since the version the edit was made from; the transaction is rolled
    back, so the caller can merge with the newer version and try again."""


def write_edit(connection: Connection, edit: StoredEdit, *, new: bool = False,
               expected: int | None = None) -> int:
    """Store ``edit`` as the FAQ's latest state; returns the new change version. ``new``:
    only if no edit of that id exists (else ``IdTaken``), so two processes adding the same
    id at once can't overwrite each other (the counter's row lock orders them). ``expected``:
    only if the FAQ's stored edit is still that version (0: none), else ``StaleEdit``; the
    same lock makes the check and the write one step."""
    version = _bump(connection)
    table = schema.faq_edits
    stored = connection.scalar(select(table.c.version)
                               .where(table.c.faq_id == storable_text(edit.faq_id)))
    if new and stored is not None:
        raise IdTaken(edit.faq_id)
    if expected is not None and int(stored or 0) != expected:
        raise StaleEdit(edit.faq_id)
    connection.execute(delete(table).where(table.c.faq_id == edit.faq_id))
    connection.execute(insert(table), storable({
        "faq_id": edit.faq_id, "question": edit.question, "answer": edit.answer,
        "url": edit.url, "alternates": list(edit.alternates), "category": edit.category,
        "retired": edit.retired, "vectors": edit.vectors, "model_id": edit.model_id,
        "editor": edit.editor, "at": edit.at or schema.utcnow(), "version": version}))
    return version


def record_push(connection: Connection, version: int) -> None:
    """The edits up to ``version`` are now in the dataset on the Hub."""
    meta = schema.meta
    connection.execute(delete(meta).where(meta.c.key == PUSHED_KEY))
    connection.execute(insert(meta), {"key": PUSHED_KEY, "value": str(version)})


def clear_pushed(connection: Connection) -> int:
    """Delete the edits a push carried to the Hub; returns how many went."""
    meta = schema.meta
    pushed = connection.scalar(select(meta.c.value).where(meta.c.key == PUSHED_KEY))
    if pushed is None:
        return 0
    table = schema.faq_edits
    gone = connection.execute(delete(table).where(table.c.version <= int(pushed)),
                              execution_options={"preserve_rowcount": True}).rowcount
    if gone:
        _bump(connection)
    return gone
