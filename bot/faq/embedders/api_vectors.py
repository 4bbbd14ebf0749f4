"""Turn what a feature-extraction service answered into (n, d) float32 unit rows.

Why so strict: a vector of the wrong size, a NaN or a missing row would silently make
every answer wrong, so any doubt about the payload is an error, never a guess.
Accepted shapes: ``n × d`` (the usual), a flat ``d`` list for one input, and token-level
``n × tokens × d`` (mean-pooled here, as sentence-transformers does), ragged or not.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from bot.faq.index import normalize_rows


class InvalidVectors(ValueError):
    """The payload is not n usable vectors; the message says what it is instead."""


def decode(content: bytes, content_type: str) -> Any:
    """Parse a JSON body, or say what came instead."""
    try:
        return json.loads(content)
    except ValueError:
        kind = content_type.split(";")[0].strip() or "no content type"
        raise InvalidVectors(f"not JSON ({kind}, {len(content)} bytes)") from None


def _ragged_tokens(payload: Any, n: int) -> np.ndarray:
    """Mean-pool token-level output whose inputs have different token counts."""
    if not isinstance(payload, list) or len(payload) != n:
        raise InvalidVectors("not a list of vectors")
    try:
        items = [np.asarray(item, dtype=np.float32) for item in payload]
    except (TypeError, ValueError):
        raise InvalidVectors("not a list of vectors") from None
    if any(item.ndim != 2 for item in items) or len({item.shape[1] for item in items}) != 1:
        raise InvalidVectors("vectors of unequal length")
    return np.stack([item.mean(axis=0) for item in items])


def _matrix(payload: Any, n: int) -> np.ndarray:
    try:
        array = np.asarray(payload, dtype=np.float32)
    except (TypeError, ValueError):  # ragged: token-level output without padding
        return _ragged_tokens(payload, n)
    if array.ndim == 1 and n == 1:
        return array[None, :]
    if array.ndim == 3:
        return array.mean(axis=1)
    if array.ndim != 2:
        raise InvalidVectors(f"an array of shape {array.shape}")
    return array


def unit_rows(payload: Any, n: int, dim: int = 0) -> np.ndarray:
    """Validate ``payload`` as vectors for ``n`` inputs (of size ``dim`` when known); normalise."""
    matrix = _matrix(payload, n)
    if matrix.shape[0] != n:
        raise InvalidVectors(f"the wrong number of vectors ({matrix.shape[0]} for {n} texts)")
    if matrix.shape[1] == 0:
        raise InvalidVectors("empty vectors")
    if dim and matrix.shape[1] != dim:
        raise InvalidVectors(f"{matrix.shape[1]}-dimensional vectors where earlier answers had "
                             f"{dim} dimensions")
    if not np.isfinite(matrix).all():
        raise InvalidVectors("NaN or infinite values")
    if not np.any(matrix, axis=1).all():
        raise InvalidVectors("an all-zero vector")
    return normalize_rows(matrix, what="vectors from the embedding service")
