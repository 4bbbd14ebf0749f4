"""Vectors out of Arrow columns straight into numpy, never through Python lists.

``to_pylist()`` on 100,000 rows of 384 floats builds 38 million Python floats in one C call
that holds the GIL throughout: every other thread of the process, the one acking Slack's
requests included, waits seconds for it. Arrow's list arrays keep their values in one flat
buffer, so a matrix is that buffer reshaped, after checking every row has the same length
and nothing is null.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bot.errors import UserError

if TYPE_CHECKING:
    import pyarrow as pa

REBUILD = "rebuild the dataset with `faqbot build`"


def _is_list(array: pa.Array) -> bool:
    import pyarrow as pa

    kind = array.type
    return (pa.types.is_list(kind) or pa.types.is_large_list(kind)
            or pa.types.is_fixed_size_list(kind))


def _lengths(array: pa.Array) -> np.ndarray:
    import pyarrow.compute as pc

    return pc.list_value_length(array).fill_null(0).to_numpy(zero_copy_only=False)


def matrix_of(column: pa.ChunkedArray | pa.Array, *, where: str, what: str) -> np.ndarray:
    """A (rows, dim) float32 matrix from a column of equal-length numeric lists; a one-line
    ``UserError`` (naming ``what``) for anything else."""
    import pyarrow as pa

    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not _is_list(array):
        raise UserError(f"{where} column {what!r} is not a list of vectors", REBUILD)
    lengths = _lengths(array)
    values = array.flatten()
    numeric = pa.types.is_floating(values.type) or pa.types.is_integer(values.type)
    if (array.null_count or values.null_count or not numeric
            or (len(lengths) and (lengths != lengths[0]).any())):
        raise UserError(f"{where} has malformed {what} (unequal lengths, text or nulls)",
                        REBUILD)
    dim = int(lengths[0]) if len(lengths) else 0
    flat = values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return flat.reshape(len(array), dim)


def blocks_of(column: pa.ChunkedArray, *, dim: int, where: str, what: str
              ) -> list[np.ndarray]:
    """Per row, a (k, dim) float32 block from a column of lists of vectors (a null row holds
    none); a one-line ``UserError`` naming the first malformed row."""
    array = column.combine_chunks()
    if not _is_list(array):
        raise UserError(f"{where} column {what!r} is not a list of lists of vectors", REBUILD)
    counts = _lengths(array)
    inner = array.flatten()  # null rows contribute nothing
    ends = np.cumsum(counts)
    if not len(inner):
        return [np.empty((0, dim), dtype=np.float32) for _ in counts]
    bad = _first_bad(inner, dim)
    if bad is not None:
        row = int(np.searchsorted(ends, bad, side="right"))
        raise UserError(f"{where} row {row} has malformed {what}", REBUILD)
    matrix = matrix_of(inner, where=where, what=what)
    return np.split(matrix, ends[:-1])


def _first_bad(inner: pa.Array, dim: int) -> int | None:
    """The index of the first vector in ``inner`` that is null, not ``dim`` long or not
    numbers; None when all are fine."""
    import pyarrow as pa

    if not _is_list(inner):
        return 0
    values = inner.flatten()
    if not (pa.types.is_floating(values.type) or pa.types.is_integer(values.type)):
        return 0
    lengths = _lengths(inner)
    bad = (lengths != dim) | inner.is_null().to_numpy(zero_copy_only=False)
    if values.null_count:  # a null number: find the vector holding it
        nulls = np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False))
        bad[np.searchsorted(np.cumsum(lengths), nulls, side="right")] = True
    found = np.flatnonzero(bad)
    return int(found[0]) if len(found) else None
