"""What ``faqbot build`` learns from the team's own FAQ, so the decision fits any domain.

Nothing here names a topic or holds a threshold fitted to one data set. Two things are
learned, from the FAQ's phrasings alone:

- each FAQ's *typical score*: how close its own phrasings come to it when each is left out
  in turn. A question is judged by how far it scores above that FAQ's typical score, so an
  FAQ with short, varied phrasings is not held to the bar of one with near-identical ones;
- the silence threshold and the choices margin, picked on simulated questions: each
  phrasing asked with itself left out (a question the FAQ answers), and asked with its whole
  FAQ left out (a near-miss from the same domain, in the same style, that the FAQ doesn't
  answer: the hardest off-topic question there is).

An FAQ without alternates has nothing to learn from: ``learn`` returns ``None`` and the
decision falls back to the plain cosine floor (``ANSWER_MIN_SCORE``, ``ANSWER_MARGIN``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.faq.index import top_k
from bot.faq.policy import CHOICE_COUNT
from bot.faq.scoring import best_phrasing, mix, segment_starts

VERSION = 1
# Simulated shown recall to aim for, and the most on-topic questions that may get choices.
RECALL = 0.95
CHOICES = 0.40
# When the simulation can't reach RECALL within CHOICES, aim this far below what it reaches.
REACH_SLACK = 0.02
# Without a learned "Maybe one of these?" floor (a card from before it), this far under the
# silence threshold: the gap between the uncalibrated defaults (config.DEFAULT_MIN_SCORE,
# DEFAULT_NEAR_SCORE).
NEAR_GAP = 0.16
# Pseudo-phrasings pulling an FAQ's typical score towards the FAQ-wide one (few alternates).
PRIOR_WEIGHT = 3.0
# Enough simulated questions to place two thresholds; more only costs build time.
MAX_SIMULATED = 2000
MIN_SIMULATED = 10
CHUNK = 256
MARGINS = np.round(np.arange(0.0, 0.2001, 0.005), 3)


@dataclass(frozen=True)
class Calibration:
    """The learned decision: silence below ``threshold`` (a relative score), choices when
    the top two FAQ scores are within ``margin``."""

    threshold: float
    margin: float
    typical: dict[str, float]  # FAQ id -> typical score
    default_typical: float  # for FAQs added after the build
    near: float | None = None  # the looser floor of "Maybe one of these?" (relative score)

    @property
    def near_floor(self) -> float:
        if self.near is None:
            return self.threshold - NEAR_GAP
        return min(self.near, self.threshold)

    def typical_scores(self, ids: Sequence[str]) -> np.ndarray:
        return np.array([self.typical.get(i, self.default_typical) for i in ids],
                        dtype=np.float32)

    def to_meta(self) -> dict[str, Any]:
        return {"version": VERSION, "threshold": round(self.threshold, 4),
                "margin": round(self.margin, 4),
                **({} if self.near is None else {"near": round(self.near, 4)}),
                "default_typical": round(self.default_typical, 4),
                "typical": {k: round(v, 4) for k, v in self.typical.items()}}

    @classmethod
    def from_meta(cls, meta: Any) -> Calibration | None:
        """Read a card's ``calibration`` block; ``None`` (use the defaults) when absent or
        unreadable, so older datasets and hand-edited cards still load."""
        if not isinstance(meta, dict) or meta.get("version") != VERSION:
            return None
        try:
            typical = {str(k): float(v) for k, v in (meta.get("typical") or {}).items()}
            near = meta.get("near")
            return cls(threshold=float(meta["threshold"]), margin=float(meta["margin"]),
                       typical=typical, default_typical=float(meta["default_typical"]),
                       near=None if near is None else float(near))
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


@dataclass(frozen=True)
class Simulation:
    """FAQ scores of simulated questions: ``on`` (left-one-out, answer ``labels``) and
    ``off`` (own FAQ left out), plus each FAQ's typical score."""

    on: np.ndarray
    labels: np.ndarray
    off: np.ndarray
    typical: np.ndarray
    overall: float  # the typical score of an FAQ without alternates


def _loo_own_scores(matrix: np.ndarray, starts: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """Each phrasing's FAQ score against its own FAQ with itself left out (NaN if alone)."""
    out = np.full(len(matrix), np.nan, dtype=np.float32)
    ends = np.r_[starts[1:], len(matrix)]
    for f, (a, b) in enumerate(zip(starts, ends, strict=True)):
        if b - a < 2:
            continue
        block = matrix[a:b]
        gram = block @ block.T
        np.fill_diagonal(gram, -np.inf)
        rest = sums[f] - block
        mean = (gram.sum(axis=1, where=np.isfinite(gram))) / np.linalg.norm(rest, axis=1)
        out[a:b] = mix(gram.max(axis=1), mean)
    return out


def simulate(matrix: np.ndarray, phrase_rows: np.ndarray, *, seed: int = 0) -> Simulation:
    """Score simulated questions against the FAQ: at most ``MAX_SIMULATED`` phrasings."""
    starts = segment_starts(phrase_rows)
    faqs = len(starts)
    sums = np.add.reduceat(matrix, starts, axis=0)
    norms = np.linalg.norm(sums, axis=1)
    own = _loo_own_scores(matrix, starts, sums)
    known = ~np.isnan(own)
    counts = np.bincount(phrase_rows[known], minlength=faqs)
    overall = float(own[known].mean()) if known.any() else 0.0
    totals = np.bincount(phrase_rows[known], weights=own[known], minlength=faqs)
    typical = ((totals + PRIOR_WEIGHT * overall) / (counts + PRIOR_WEIGHT)).astype(np.float32)

    picked = np.flatnonzero(known)
    if len(picked) > MAX_SIMULATED:
        picked = np.sort(np.random.default_rng(seed).choice(picked, MAX_SIMULATED,
                                                            replace=False))
    on_parts, off_parts = [], []
    for lo in range(0, len(picked), CHUNK):
        ids = picked[lo:lo + CHUNK]
        n = np.arange(len(ids))
        rows = phrase_rows[ids]
        scores = matrix[ids] @ matrix.T
        scores[n, ids] = -np.inf
        best = best_phrasing(scores, starts)
        mean = (matrix[ids] @ sums.T) / norms
        scores = mix(best, mean)
        scores[n, rows] = own[ids]
        on_parts.append(scores.copy())
        scores[n, rows] = -np.inf
        off_parts.append(scores)
    empty = np.empty((0, faqs), dtype=np.float32)
    return Simulation(on=np.vstack(on_parts) if on_parts else empty, labels=phrase_rows[picked],
                      off=np.vstack(off_parts) if off_parts else empty, typical=typical,
                      overall=overall)


def choose(sim: Simulation) -> tuple[float, float]:
    """The threshold and margin that keep most off-topic questions silent while the
    simulated shown recall stays at ``RECALL`` (or just under what it can reach) with at
    most ``CHOICES`` of on-topic questions getting choices."""
    values, rows = top_k(sim.on, CHOICE_COUNT)
    relative = values[:, 0] - sim.typical[rows[:, 0]]
    gap = values[:, 0] - (values[:, 1] if values.shape[1] > 1 else -np.inf)
    in_top1 = rows[:, 0] == sim.labels
    in_top3 = (rows == sim.labels[:, None]).any(axis=1)
    off_values, off_rows = top_k(sim.off, CHOICE_COUNT)
    off_relative = off_values[:, 0] - sim.typical[off_rows[:, 0]]
    options = []
    for margin in MARGINS:
        choices = gap < margin
        if choices.mean() > CHOICES and options:
            break
        options.append((margin, np.where(choices, in_top3, in_top1)))
    reach = max(shown.mean() for _, shown in options)
    recall = min(RECALL, reach - REACH_SLACK)
    need = max(1, int(np.ceil(recall * len(relative))))
    best: tuple[float, float, float] | None = None
    for margin, shown in options:
        kept = np.sort(relative[shown])[::-1]
        if len(kept) < need:
            continue
        threshold = float(kept[need - 1])
        silence = float((off_relative < threshold).mean()) if len(off_relative) else 0.0
        if best is None or silence > best[0]:
            best = (silence, threshold, float(margin))
    assert best is not None  # the option of highest reach always has enough
    return best[1], best[2]


def learn(matrix: np.ndarray, phrase_rows: np.ndarray,
          ids: Sequence[str]) -> Calibration | None:
    """Learn the decision from an FAQ's unit phrasing vectors (rows contiguous, in order);
    ``None`` when too few FAQs have alternates to learn from."""
    if len(ids) < 2:
        return None
    sim = simulate(matrix, phrase_rows)
    if len(sim.labels) < MIN_SIMULATED:
        return None
    threshold, margin = choose(sim)
    counts = np.bincount(phrase_rows, minlength=len(ids))
    typical = {i: float(t) for i, t, c in zip(ids, sim.typical, counts, strict=True) if c > 1}
    return Calibration(threshold=threshold, margin=margin, typical=typical,
                       default_typical=sim.overall, near=near_floor(sim, threshold))


def near_floor(sim: Simulation, threshold: float) -> float:
    """The looser floor for offering the closest FAQs on a miss asked directly: the lower of
    the silence threshold pushed down by the spread of the FAQ's own simulated questions
    (their interquartile range: real misses fall below the threshold by about that much),
    and what the typical same-domain question the FAQ doesn't answer scores (the median of
    the simulated near-misses). Chatter from other domains scores lower still."""
    values, rows = top_k(sim.on, CHOICE_COUNT)
    if len(values) < MIN_SIMULATED:
        return threshold - NEAR_GAP
    relative = values[:, 0] - sim.typical[rows[:, 0]]
    low, high = np.quantile(relative, [0.25, 0.75])
    off_values, off_rows = top_k(sim.off, 1)
    near_miss = float(np.median(off_values[:, 0] - sim.typical[off_rows[:, 0]]))
    return min(threshold - float(high - low), near_miss)
