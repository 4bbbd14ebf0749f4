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
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from bot.config import DEFAULT_MODEL
from bot.errors import UserError
from bot.faq.calibration import MIN_SIMULATED, Calibration, learn
from bot.faq.sources import FaqRow
from bot.faq.tune.recipe import Recipe

# One phrasing in three is held out: an FAQ with a question and 2 alternates keeps a pair to
# train on and gives one question to learn from.
HOLD_EVERY = 3


def held_out(count: int) -> list[bool]:
    """Which of an FAQ's ``count`` phrasings (the question first) the second tune skips."""
    return [i % HOLD_EVERY == HOLD_EVERY - 1 for i in range(count)]


def split(rows: Sequence[FaqRow]) -> tuple[list[FaqRow], np.ndarray]:
    """The rows the second tune trains on, and a mask over all rows' phrasings (in order)
    marking the held-out ones (the ``questions`` that ``calibration.learn`` asks)."""
    train, mask = [], []
    for row in rows:
        out = held_out(len(row.phrasings))
        kept = tuple(p for p, o in zip(row.phrasings[1:], out[1:], strict=True) if not o)
        train.append(replace(row, alternates=kept))
        mask.extend(out)
    return train, np.array(mask, dtype=bool)


def held_out_calibration(rows: Sequence[FaqRow], *, base_model: str = DEFAULT_MODEL,
                         base_dir: Path | None = None, token: str = "",
                         recipe: Recipe | None = None) -> Calibration | None:
    """The decision for the model tuned to ``rows``, learned from a second tune that never
    saw the phrasings it is learned from; ``None`` when too few are held out (the caller
    then learns from the full tune's own phrasings, as an untuned build does)."""
    from bot.faq.dataset import assemble, embed_phrasings
    from bot.faq.embedders.local import LocalEmbedder
    from bot.faq.tune import tune

    train, mask = split(rows)
    if int(mask.sum()) < MIN_SIMULATED:
        return None
    with TemporaryDirectory(prefix="faqbot-crossfit-") as temp:
        try:
            report = tune(train, Path(temp) / "model", base_model=base_model, base_dir=base_dir,
                          token=token, progress=False, recipe=recipe)
        except UserError:  # too few phrasings left to tune on
            return None
        embedder = LocalEmbedder(model_id=report.model_id, model_dir=str(Path(temp) / "model"))
        faq = assemble(list(rows), embed_phrasings(embedder, rows, progress=False), embedder,
                       "cross-fitting")
    return learn(faq.index.matrix, faq.phrase_rows, [r.id for r in rows], questions=mask)
