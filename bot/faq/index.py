"""Exact top-k cosine search over FAQ vectors held in memory.

One matrix-vector product plus ``argpartition`` is within a few percent of the
cost of reading the matrix once, which is the floor of any exact scan.
"""

from __future__ import annotations

import numpy as np

from bot.errors import UserError


def normalize_rows(vectors: np.ndarray, *, what: str = "vectors") -> np.ndarray:
    """Return ``vectors`` as L2-normalised float32 rows, refusing NaN, inf and zero rows."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2:
        raise UserError(f"{what} must be a 2-D array, got shape {matrix.shape}", "check the data")
    finite = np.isfinite(matrix).all(axis=1)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise UserError(
            f"{what} row {bad} contains NaN or inf", "rebuild the dataset with `faqbot build`"
        )
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if (norms == 0).any():
        bad = int(np.flatnonzero(norms[:, 0] == 0)[0])
        raise UserError(
            f"{what} row {bad} is a zero vector", "rebuild the dataset with `faqbot build`"
        )
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


class FaqIndex:
    """An (N, d) matrix of unit vectors; ``search`` returns (scores, rows) like faiss."""

    def __init__(self, embeddings: np.ndarray, *, normalized: bool = False) -> None:
        self.matrix = (
            np.ascontiguousarray(embeddings, dtype=np.float32)
            if normalized
            else normalize_rows(embeddings, what="FAQ embeddings")
        )
        if self.matrix.shape[0] == 0:
            raise UserError("the FAQ dataset is empty", "add at least one question/answer row")

    @property
    def size(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` rows per query by cosine similarity, best first: two (q, k) arrays."""
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if q.shape[1] != self.dim:
            raise UserError(
                f"query dimension {q.shape[1]} does not match the index dimension {self.dim}",
                "use the same embedding model for the dataset and the queries",
            )
        scores = q @ self.matrix.T if q.shape[0] > 1 else (self.matrix @ q[0])[None, :]
        return top_k(scores, k)


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` highest of each row of a (q, N) array, best first, ties in column order:
    two (q, k) arrays, the scores and their columns."""
    size = scores.shape[1]
    k = max(0, min(int(k), size))
    if k == 0:
        empty = np.empty((scores.shape[0], 0))
        return empty.astype(np.float32), empty.astype(np.int64)
    if k < size:
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        top = np.broadcast_to(np.arange(size), (scores.shape[0], size)).copy()
    top_scores = np.take_along_axis(scores, top, axis=1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    rows = np.take_along_axis(top, order, axis=1).astype(np.int64)
    return np.take_along_axis(top_scores, order, axis=1), rows
