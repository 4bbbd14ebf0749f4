"""What an editor started from, and merging their change with changes made since.

Two editors (or an editor and learning) may change one FAQ between its read and its save.
The editor's side carries a ``Seen``: short hashes of each field as they were shown, small
enough for a Slack form's ``private_metadata``. At save, a three-way merge against the FAQ as
it is now keeps both sides where they changed different fields, and names the fields where
both changed the same one differently. Alternates merge as a set: a phrasing added on either
side stays, one removed on either side goes. Pure: no numpy, so the Slack front end uses it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from bot.errors import UserError
from bot.faq.sources import FaqRow

TEXT_FIELDS = ("question", "answer", "url")
AUTO_EDITOR = "auto-learn"  # the editor of a phrasing FAQ_AUTO_LEARN accepted
HASH_CHARS = 10  # of a field's sha256: collisions between two edits of one field don't happen
PHRASING_HASH_CHARS = 8


def _hash(text: str, chars: int = HASH_CHARS) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:chars]


@dataclass(frozen=True)
class Seen:
    """Hashes of an FAQ's fields as an editor was shown them. ``phrasings`` hashes each
    alternate (None when there were too many to carry; then ``alternates`` hashes the list)."""

    fields: tuple[str, str, str]  # question, answer, url
    alternates: str
    phrasings: frozenset[str] | None

    def encode(self, *, with_phrasings: bool = True) -> str:
        """``q.a.u.A[.p1p2…]``: dot-separated, for a form's metadata."""
        parts = [*self.fields, self.alternates]
        if with_phrasings and self.phrasings is not None:
            parts.append("".join(sorted(self.phrasings)))
        return ".".join(parts)

    @classmethod
    def decode(cls, text: object) -> Seen | None:
        """The ``Seen`` ``encode`` wrote; None for anything else."""
        if not isinstance(text, str):
            return None
        parts = text.split(".")
        if len(parts) not in (4, 5) or not all(_is_hex(p, HASH_CHARS) for p in parts[:4]):
            return None
        phrasings: frozenset[str] | None = None
        if len(parts) == 5:
            packed = parts[4]
            if len(packed) % PHRASING_HASH_CHARS or not _is_hex(packed, len(packed)):
                return None
            phrasings = frozenset(packed[i:i + PHRASING_HASH_CHARS]
                                  for i in range(0, len(packed), PHRASING_HASH_CHARS))
        q, a, u, alternates = parts[:4]
        return cls(fields=(q, a, u), alternates=alternates, phrasings=phrasings)


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in "0123456789abcdef" for c in text)


def seen(row: FaqRow) -> Seen:
    """What an editor is shown of ``row``."""
    return Seen(fields=tuple(_hash(getattr(row, f)) for f in TEXT_FIELDS),  # type: ignore[arg-type]
                alternates=_hash("\n".join(row.alternates)),
                phrasings=frozenset(_hash(a, PHRASING_HASH_CHARS) for a in row.alternates))


class Conflict(Exception):
    """Both sides changed ``fields`` differently since the editor's read."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


def unchanged(since: Seen, current: FaqRow) -> bool:
    """True when ``current`` is still what the editor was shown."""
    now = seen(current)
    return now.fields == since.fields and now.alternates == since.alternates


def merge(since: Seen, mine: FaqRow, theirs: FaqRow) -> FaqRow:
    """``mine`` (edited from what ``since`` describes) with ``theirs`` (the FAQ as it is now)
    merged in; ``Conflict`` names the fields both changed differently."""
    merged: dict[str, str] = {}
    clashes: list[str] = []
    for name, base in zip(TEXT_FIELDS, since.fields, strict=True):
        my_value, their_value = getattr(mine, name), getattr(theirs, name)
        if _hash(their_value) == base or my_value == their_value:
            merged[name] = my_value
        elif _hash(my_value) == base:
            merged[name] = their_value
        else:
            clashes.append(name)
    alternates = _merge_alternates(since, mine.alternates, theirs.alternates)
    if alternates is None:
        clashes.append("alternates")
    if clashes:
        raise Conflict(tuple(clashes))
    assert alternates is not None
    return replace(mine, alternates=alternates, **merged)


def _merge_alternates(since: Seen, mine: tuple[str, ...], theirs: tuple[str, ...]
                      ) -> tuple[str, ...] | None:
    """As sets: what either side added stays, what either removed goes. Without per-phrasing
    hashes, only one side may have changed the list (None: both did)."""
    if since.phrasings is None:
        if _hash("\n".join(theirs)) == since.alternates:
            return mine
        if _hash("\n".join(mine)) == since.alternates or mine == theirs:
            return theirs
        return None
    base = since.phrasings
    theirs_now = {_hash(a, PHRASING_HASH_CHARS) for a in theirs}
    kept = [a for a in mine
            if not (_hash(a, PHRASING_HASH_CHARS) in base
                    and _hash(a, PHRASING_HASH_CHARS) not in theirs_now)]
    added = [a for a in theirs if _hash(a, PHRASING_HASH_CHARS) not in base and a not in mine]
    return tuple(dict.fromkeys([*kept, *added]))


@dataclass(frozen=True)
class Revision:
    """An FAQ's last change in the database: its change version (0: as in the dataset)."""

    version: int = 0
    editor: str = ""
    at: datetime | None = None


class EditChanged(UserError):
    """The FAQ changed after the editor's read: ``current`` is it now, ``by`` who changed it,
    ``fields`` the ones both changed (empty: none; ``merged`` then holds both changes)."""

    def __init__(self, current: FaqRow, by: Revision, fields: tuple[str, ...], *,
                 merged: FaqRow | None = None) -> None:
        who = by.editor or "a new version of the dataset"
        when = f" at {by.at:%Y-%m-%d %H:%M} UTC" if by.at else ""
        clash = f" (both changed: {', '.join(fields)})" if fields else ""
        super().__init__(f"FAQ {current.id!r} was changed by {who}{when} since you read it"
                         f"{clash}", "look at it now and save your change again")
        self.current, self.by, self.fields, self.merged = current, by, fields, merged
