"""The cosine thresholds of a dataset without calibration, and which of them apply.

``faqbot eval --write`` stores them in the card's ``faqbot: thresholds:`` block, so a
dataset carries the thresholds tuned for it to every process that loads it. Each one
applies unless ``ANSWER_MIN_SCORE`` / ``ANSWER_MARGIN`` is set: an operator's explicit
setting beats a file. A calibrated dataset ignores all of these (see ``calibration``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bot.config import DEFAULT_MARGIN, DEFAULT_MIN_SCORE

# The ranges Settings accepts for ANSWER_MIN_SCORE and ANSWER_MARGIN.
MIN_SCORE_RANGE = (-1.0, 1.0)
MARGIN_RANGE = (0.0, 2.0)


@dataclass(frozen=True)
class Thresholds:
    """Silence below ``min_score`` (a cosine); choices when the top two are within ``margin``."""

    min_score: float
    margin: float

    def to_meta(self) -> dict[str, float]:
        return {"min_score": round(self.min_score, 4), "margin": round(self.margin, 4)}

    @classmethod
    def from_meta(cls, meta: Any) -> Thresholds | None:
        """Read a card's ``thresholds`` block; ``None`` (use the defaults) when absent or
        out of range, so a hand-edited card still loads."""
        if not isinstance(meta, dict):
            return None
        try:
            found = cls(min_score=float(meta["min_score"]), margin=float(meta["margin"]))
        except (KeyError, TypeError, ValueError):
            return None
        ranges = ((found.min_score, MIN_SCORE_RANGE), (found.margin, MARGIN_RANGE))
        if all(math.isfinite(v) and low <= v <= high for v, (low, high) in ranges):
            return found
        return None


def effective(stored: Thresholds | None, min_score: float | None,
              margin: float | None) -> Thresholds:
    """Each threshold from the environment when set there (``min_score``, ``margin``), else
    from the dataset (``stored``), else the default."""
    base = stored or Thresholds(DEFAULT_MIN_SCORE, DEFAULT_MARGIN)
    return Thresholds(base.min_score if min_score is None else min_score,
                      base.margin if margin is None else margin)
