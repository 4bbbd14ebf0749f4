"""FAQ edits over a loaded dataset: what a valid edit is, and the merged FAQ they make.

An edit adds an FAQ (a new id), replaces one (an existing id) or retires one (hides it). It
carries the unit vectors of its phrasings when its author embedded them with the same
model, so no process re-embeds what another already did.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from bot.errors import UserError
from bot.faq.dataset import FaqData, assemble, embed_phrasings
from bot.faq.links import is_web_link
from bot.faq.sources import MAX_ID_CHARS, FaqRow

if TYPE_CHECKING:
    from bot.faq.embedders import Embedder


@dataclass(frozen=True)
class FaqEdit:
    """One FAQ as an edit left it: ``row`` is None when it was retired."""

    id: str
    row: FaqRow | None
    vectors: np.ndarray | None  # (phrasings, dim) unit vectors, or None to embed at merge
    model_id: str = ""
    version: int = 0  # the change that stored it: what a later save of this FAQ must expect
    editor: str = ""
    at: datetime | None = None


def problems(faq: FaqData, row: FaqRow, *, replacing: str | None = None) -> dict[str, str]:
    """What is wrong with ``row`` as an edit of ``faq``, by field; empty when it is valid.

    ``replacing`` is the id being edited (its own phrasings are no duplicate of it).
    """
    found: dict[str, str] = {}
    if not row.question:
        found["question"] = "the question is empty"
    if not row.answer:
        found["answer"] = "the answer is empty"
    if len(row.id) > MAX_ID_CHARS:
        found["id"] = f"the id is longer than {MAX_ID_CHARS} characters; give a shorter --id"
    if row.url and not is_web_link(row.url):
        found["url"] = "not an http(s) link; use a full https:// address or leave it empty"
    owners = _phrasing_owners(faq, skip=replacing)
    for field, texts in (("question", (row.question,)), ("alternates", row.alternates)):
        for text in texts:
            owner = owners.get(same_words(text))
            if owner is not None and field not in found:
                found[field] = f"{text[:80]!r} is already a phrasing of FAQ {owner!r}"
    if replacing is None and faq.by_id(row.id) is not None and "question" not in found:
        found["question"] = f"an FAQ with id {row.id!r} exists already; edit it instead"
    return found


def _phrasing_owners(faq: FaqData, *, skip: str | None) -> dict[str, str]:
    return {same_words(p): r.id for r in faq.rows if r.id != skip for p in r.phrasings}


def same_words(text: str) -> str:
    """Phrasings that differ only in case, spacing or punctuation are the same question."""
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


def merge(base: FaqData, edits: Sequence[FaqEdit], embedder: Embedder) -> FaqData:
    """``base`` with ``edits`` applied: a new id adds, an existing id replaces, a retired id
    hides. Built aside: ``base`` is not touched, so it keeps serving until the swap."""
    if not edits:
        return base
    by_id = {edit.id: edit for edit in edits}
    rows: list[FaqRow] = []
    blocks: list[np.ndarray | None] = []
    for n, row in enumerate(base.rows):
        edit = by_id.pop(row.id, None)
        if edit is None:
            rows.append(row)
            blocks.append(base.vectors(n))
        elif edit.row is not None:
            rows.append(edit.row)
            blocks.append(_usable(edit, embedder))
    for edit in by_id.values():
        if edit.row is not None:
            rows.append(edit.row)
            blocks.append(_usable(edit, embedder))
    if not rows:
        raise UserError("every FAQ is retired", "add an FAQ with `faqbot faq add`")
    missing = [n for n, block in enumerate(blocks) if block is None]
    for n, block in zip(missing, embed_phrasings(embedder, [rows[n] for n in missing],
                                                 progress=False), strict=True):
        blocks[n] = block  # unit vectors, like the loaded ones and those stored with edits
    # The dataset's calibration stays: re-learning it costs ~0.3-1 s at 1,000 FAQs x 20
    # phrasings on every reload (replies queue behind it), and learned phrasings are a biased
    # sample (questions the bot already got right) that would inflate the typical scores.
    # FAQs added since the build are judged by the calibration's FAQ-wide typical score.
    merged = assemble(rows, [b for b in blocks if b is not None], embedder, base.source,
                      calibration=base.calibration,
                      edited=frozenset(e.id for e in edits if e.row is not None),
                      normalized=True)
    merged.thresholds = base.thresholds
    return merged


def _usable(edit: FaqEdit, embedder: Embedder) -> np.ndarray | None:
    """The edit's vectors, unless they came from another model or don't fit its text."""
    vectors = edit.vectors
    if (vectors is None or edit.model_id != embedder.model_id or edit.row is None
            or vectors.shape != (len(edit.row.phrasings), embedder.dim)):
        return None
    return vectors
