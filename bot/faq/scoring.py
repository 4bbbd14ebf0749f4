"""FAQ-level scores from all of an FAQ's phrasings, not just its best one.

An FAQ scoring as its single best phrasing loses to a neighbour with one lucky alternate.
Mixing the best phrasing with the FAQ's mean direction (the normalised mean of its
phrasings) rewards questions close to what the phrasings have in common.
"""

from __future__ import annotations

import numpy as np

# Weight of the best phrasing; the rest goes to the FAQ's mean direction.
MAX_WEIGHT = 0.5


def segment_starts(phrase_rows: np.ndarray) -> np.ndarray:
    """Index of each FAQ's first phrasing; phrasings of one FAQ are contiguous."""
    return np.flatnonzero(np.r_[True, phrase_rows[1:] != phrase_rows[:-1]])


def mean_directions(matrix: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """One unit vector per FAQ: the normalised sum of its phrasings' vectors."""
    sums = np.add.reduceat(matrix, starts, axis=0)
    return (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)


def best_phrasing(phrase_scores: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per FAQ, the cosine of its best phrasing; works on (P,) and (n, P) scores."""
    return np.maximum.reduceat(phrase_scores, starts, axis=-1)


def mix(best: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return MAX_WEIGHT * best + (1.0 - MAX_WEIGHT) * mean
