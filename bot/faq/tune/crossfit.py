"""Honest thresholds for a tuned model: learned from phrasings a tune never trained on.

Leave-one-out over the phrasings a model was tuned on looks too easy: the tune pulled each
of them to its FAQ, so they score higher than real questions will, and thresholds learned
from them sit too loose. So a second tune leaves out every ``HOLD_EVERY``-th phrasing of
each FAQ (never its question). Only those are asked in the simulation, against the whole FAQ
as that second model embeds it, and what it learns is applied to the full tune.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from bot.faq.sources import FaqRow

# One phrasing in three is held out: an FAQ with a question and 2 alternates keeps a pair to
# train on and gives one question to learn from.
HOLD_EVERY = 3


def held_out(count: int) -> list[bool]:
    """Which of an FAQ's ``count`` phrasings (the question first) the second tune skips."""
    return [i % HOLD_EVERY == HOLD_EVERY - 1 for i in range(count)]


def split(rows: Sequence[FaqRow]) -> tuple[list[FaqRow], np.ndarray]:
    """The rows the second tune trains on, and a mask over all rows' phrasings (in order)
    marking the held-out ones (the ``questions`` that
    ``calibration.learn`` asks)."""
    train, mask = [], []
    for row in rows:
        out = held_out(len(row.phrasings))
        kept = tuple(p for p, o in zip(row.phrasings[1:], out[1:], strict=True) if not o)
        train.append(replace(row, alternates=kept))
        mask.extend(out)
    return train, np.array(mask, dtype=bool)

