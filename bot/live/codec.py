"""FAQ edits between the database's plain form (``StoredEdit``) and the engine's (``FaqEdit``).

The storage layer holds no numpy, so vectors travel as float32 bytes.
"""

from __future__ import annotations

import numpy as np

from bot.faq.edits import FaqEdit
from bot.faq.sources import FaqRow
from bot.storage import StoredEdit


def encode(row: FaqRow, vectors: np.ndarray | None, *, model_id: str, editor: str,
           retired: bool = False) -> StoredEdit:
    return StoredEdit(
        faq_id=row.id, question=row.question, answer=row.answer, url=row.url,
        alternates=row.alternates, category=row.category, retired=retired,
        vectors=None if vectors is None else np.ascontiguousarray(vectors, np.float32).tobytes(),
        model_id=model_id, editor=editor)


def decode(stored: StoredEdit) -> FaqEdit:
    row = FaqRow(id=stored.faq_id, question=stored.question, answer=stored.answer,
                 url=stored.url, alternates=tuple(stored.alternates), category=stored.category)
    return FaqEdit(id=stored.faq_id, row=None if stored.retired else row,
                   vectors=_vectors(stored.vectors, len(row.phrasings)),
                   model_id=stored.model_id, version=stored.version, editor=stored.editor,
                   at=stored.at)


def _vectors(raw: bytes | None, phrasings: int) -> np.ndarray | None:
    """The stored vectors, or None (embed again) when they don't fit the text."""
    if not raw or len(raw) % (4 * phrasings):
        return None
    vectors = np.frombuffer(raw, dtype=np.float32).reshape(phrasings, -1)
    norms = np.linalg.norm(vectors, axis=1)
    if not np.isfinite(vectors).all() or not np.allclose(norms, 1.0, atol=1e-3):
        return None  # not the unit vectors a save stores: embed the text again
    return vectors
