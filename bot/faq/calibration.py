"""What ``faqbot build`` learns from the team's own FAQ, so the decision fits any domain.

Nothing here names a topic or holds a threshold fitted to one data set. Two things are
learned, from the FAQ's phrasings alone:

- each FAQ's *typical score*: how close its own phrasings come to it when each is left out
  in turn. A question is judged by how far it scores above that FAQ's typical score, so an
  FAQ with short, varied phrasings is not held to the bar of one with near-identical ones;
- two operating points (a silence threshold and a choices margin each), picked on the same
  simulated questions: each phrasing asked with itself left out (a question the FAQ
  answers), and asked with its whole FAQ left out (a near-miss from the same domain, in the
  same style, that the FAQ doesn't answer: the hardest off-topic question there is).
  The *direct* point (mentions, DMs, ``/faq``) keeps shown recall high, since someone who
  asked is better served by choices than by silence. The *channel* point (top-level channel
  messages, answered unprompted) only ever answers, never offers choices, and stays silent on
  ``CHANNEL_SILENCE`` of the near-misses: a wrong answer nobody asked for gets a bot muted.

An FAQ without alternates has nothing to learn from: ``learn`` returns ``None`` and the
decision falls back to the plain cosine floor (``ANSWER_MIN_SCORE``, ``ANSWER_MARGIN``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.faq.index import top_k
from bot.faq.policy import CHOICE_COUNT
from bot.faq.scoring import best_phrasing, mix, segment_starts
from bot.faq.thresholds import MARGIN_RANGE, MIN_SCORE_RANGE

log = logging.getLogger(__name__)

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
# Share of simulated near-misses a top-level channel message must leave unanswered.
CHANNEL_SILENCE = 0.95
# Share of the FAQ's own held-out phrasings a channel answer must score like: all but the
# lowest quarter (the interquartile range's lower end).
CHANNEL_TYPICAL = 0.75
# Fewer simulated near-misses than this can't show CHANNEL_SILENCE (one answered is already
# more than 1 - CHANNEL_SILENCE of them): the FAQ is too small to be trusted unprompted.
MIN_NEAR_MISSES = round(1 / (1 - CHANNEL_SILENCE))
# What a card's relative scores and typical scores may hold: an FAQ score, or a difference
# of two, stays within the cosine's range; anything else is a hand edit gone wrong.
SCORE_RANGE = MIN_SCORE_RANGE


@dataclass(frozen=True)
class Calibration:
    """The learned decision: silence below ``threshold`` (a relative score), choices when
    the top two FAQ scores are within ``margin``; for a top-level channel message, an answer
    only at or above ``channel_threshold`` with the runner-up at least ``channel_margin``
    behind, else silence."""

    threshold: float
    margin: float
    typical: dict[str, float]  # FAQ id -> typical score
    default_typical: float  # for FAQs added after the build
    channel_threshold: float
    channel_margin: float
    near: float | None = None  # the looser floor of "Maybe one of these?" (relative score)

    @property
    def near_floor(self) -> float:
        if self.near is None:
            return self.threshold - NEAR_GAP
        return min(self.near, self.threshold)

    def typical_scores(self, ids: Sequence[str]) -> np.ndarray:
        return np.array([self.typical.get(i, self.default_typical) for i in ids],
                        dtype=np.float32)

    def channel_point(self) -> tuple[float, float]:
        """The channel's threshold and margin, never looser than the direct ones (which
        ``faqbot eval --write`` may have raised): what a channel answers, a direct question
        gets answered the same way."""
        return max(self.channel_threshold, self.threshold), max(self.channel_margin,
                                                                  self.margin)

    def to_meta(self) -> dict[str, Any]:
        return {"version": VERSION, "threshold": round(self.threshold, 4),
                "margin": round(self.margin, 4),
                "channel": {"threshold": round(self.channel_threshold, 4),
                            "margin": round(self.channel_margin, 4)},
                **({} if self.near is None else {"near": round(self.near, 4)}),
                "default_typical": round(self.default_typical, 4),
                "typical": {k: round(v, 4) for k, v in self.typical.items()}}

    @classmethod
    def from_meta(cls, meta: Any) -> Calibration | None:
        """Read a card's ``calibration`` block; ``None`` (use the defaults) when absent,
        unreadable or out of range, so older datasets and hand-edited cards still load, and
        a bad edit (``threshold: -1000``) can't make the bot answer everything. A card from
        before the channel point answers channel messages at the direct point."""
        if not isinstance(meta, dict) or meta.get("version") != VERSION:
            return None
        try:
            typical = {str(k): float(v) for k, v in (meta.get("typical") or {}).items()}
            channel = meta.get("channel") or {"threshold": meta["threshold"],
                                              "margin": meta["margin"]}
            near = meta.get("near")
            found = cls(threshold=float(meta["threshold"]), margin=float(meta["margin"]),
                        typical=typical, default_typical=float(meta["default_typical"]),
                        channel_threshold=float(channel["threshold"]),
                        channel_margin=float(channel["margin"]),
                        near=None if near is None else float(near))
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("the dataset card's calibration is unreadable; using the fixed "
                        "ANSWER_MIN_SCORE and ANSWER_MARGIN. Fix: rebuild it with faqbot build")
            return None
        if (problem := found.out_of_range()) is not None:
            log.warning("the dataset card's calibration is out of range (%s); using the fixed "
                        "ANSWER_MIN_SCORE and ANSWER_MARGIN. Fix: rebuild it with faqbot "
                        "build", problem)
            return None
        return found

    def out_of_range(self) -> str | None:
        """The first value outside what a build can learn, named; ``None`` when all fit."""
        scores = {"threshold": self.threshold, "channel threshold": self.channel_threshold,
                  "default_typical": self.default_typical,
                  **({} if self.near is None else {"near": self.near}),
                  **{f"typical of {k!r}": v for k, v in self.typical.items()}}
        checks = [*((name, value, SCORE_RANGE) for name, value in scores.items()),
                  ("margin", self.margin, MARGIN_RANGE),
                  ("channel margin", self.channel_margin, MARGIN_RANGE)]
        for name, value, (low, high) in checks:
            if not (math.isfinite(value) and low <= value <= high):
                return f"{name} {value} is not within [{low}, {high}]"
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


def simulate(matrix: np.ndarray, phrase_rows: np.ndarray, *, seed: int = 0,
             questions: np.ndarray | None = None) -> Simulation:
    """Score simulated questions against the FAQ: at most ``MAX_SIMULATED`` phrasings, only
    those in the ``questions`` mask when given (the typical scores come from them too)."""
    starts = segment_starts(phrase_rows)
    faqs = len(starts)
    sums = np.add.reduceat(matrix, starts, axis=0)
    norms = np.linalg.norm(sums, axis=1)
    own = _loo_own_scores(matrix, starts, sums)
    known = ~np.isnan(own) if questions is None else ~np.isnan(own) & questions
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


def _just_above(value: float) -> float:
    """The smallest value the card can store (4 decimals) that is above ``value``."""
    return math.floor(value * 10_000 + 1) / 10_000


def choose_channel(sim: Simulation, threshold: float, margin: float) -> tuple[float, float]:
    """The channel's threshold and margin (at least the direct ``threshold`` and ``margin``):
    of the pairs that leave ``CHANNEL_SILENCE`` of the simulated near-misses unanswered, the
    one answering the most on-topic questions right. With fewer near-misses than
    ``MIN_NEAR_MISSES`` that means answering none of them: the strictest point the
    simulation can place.

    The threshold is also at least what ``CHANNEL_TYPICAL`` of the FAQ's own held-out
    phrasings reach against their own FAQ: a bar from the on-topic side alone, which still
    holds where the near-misses are unrepresentative. In a small FAQ the few topics lie far
    apart, so another FAQ's phrasing is much easier to tell apart than a real question that
    shares a word or two with one FAQ."""
    values, rows = top_k(sim.on, 2)
    relative = values[:, 0] - sim.typical[rows[:, 0]]
    own = sim.on[np.arange(len(sim.labels)), sim.labels] - sim.typical[sim.labels]
    typical_floor = float(np.quantile(own, 1.0 - CHANNEL_TYPICAL)) if len(own) else -np.inf
    gap = values[:, 0] - (values[:, 1] if values.shape[1] > 1 else -np.inf)
    right = rows[:, 0] == sim.labels
    off_values, off_rows = top_k(sim.off, 2)
    off_relative = off_values[:, 0] - sim.typical[off_rows[:, 0]]
    off_gap = off_values[:, 0] - (off_values[:, 1] if off_values.shape[1] > 1 else -np.inf)
    allowed = int(np.floor((1.0 - CHANNEL_SILENCE) * len(off_relative) + 1e-9))
    best: tuple[int, float, float] | None = None
    for channel_margin in MARGINS[MARGINS.searchsorted(margin - 1e-9):]:
        answered = np.sort(off_relative[off_gap >= channel_margin])[::-1]
        floor = (_just_above(float(answered[allowed])) if allowed < len(answered)
                 else -np.inf)
        channel_threshold = max(threshold, floor, typical_floor)
        right_answers = int((right & (relative >= channel_threshold)
                             & (gap >= channel_margin)).sum())
        if best is None or right_answers > best[0]:
            best = (right_answers, channel_threshold, float(channel_margin))
    if best is None:  # a direct margin beyond the grid: keep the direct point
        return threshold, margin
    return best[1], best[2]


def learn(matrix: np.ndarray, phrase_rows: np.ndarray, ids: Sequence[str], *,
          questions: np.ndarray | None = None) -> Calibration | None:
    """Learn the decision from an FAQ's unit phrasing vectors (rows contiguous, in order),
    asking only the phrasings in the ``questions`` mask when given; ``None`` when too few
    FAQs have alternates to learn from."""
    if len(ids) < 2:
        return None
    sim = simulate(matrix, phrase_rows, questions=questions)
    if len(sim.labels) < MIN_SIMULATED:
        return None
    threshold, margin = choose(sim)
    channel_threshold, channel_margin = choose_channel(sim, threshold, margin)
    counts = np.bincount(phrase_rows, minlength=len(ids))
    typical = {i: float(t) for i, t, c in zip(ids, sim.typical, counts, strict=True) if c > 1}
    return Calibration(threshold=threshold, margin=margin, typical=typical,
                       default_typical=sim.overall, channel_threshold=channel_threshold,
                       channel_margin=channel_margin, near=near_floor(sim, threshold))


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


def near_misses(phrasing_counts: Sequence[int]) -> int:
    """How many near-misses the simulation has: one per phrasing of an FAQ with alternates
    (an FAQ with one phrasing has nothing to leave out), at most ``MAX_SIMULATED``."""
    return min(MAX_SIMULATED, sum(c for c in phrasing_counts if c > 1))
