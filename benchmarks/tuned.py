"""Tuned models for the benchmarks on labelled sets, each tuned once and kept under the
cache folder.

A tune takes minutes, so the model (and how long its tune took) is kept under
``--cache``, keyed by the FAQ's phrasings and the recipe: reruns re-score in seconds. Two
tunes per FAQ: the full one (what ``faqbot build --tune`` ships) and the cross-fitting one
that leaves out the phrasings the honest thresholds are learned from
(``bot.faq.tune.crossfit``).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.labelled import CachedEmbedder
from bot.errors import UserError
from bot.faq.calibration import Calibration, learn
from bot.faq.dataset import FaqData, assemble
from bot.faq.embedders.local import LocalEmbedder
from bot.faq.sources import FaqRow
from bot.faq.tune.crossfit import split
from bot.faq.tune.recipe import Recipe

SHIPPED_RECIPE = Recipe()  # what faqbot build --tune uses


class TunedModel(CachedEmbedder):
    """A tuned model's embedder, its vectors cached like the frozen model's."""

    def __init__(self, model_id: str, directory: Path, seconds: float, cache: Path) -> None:
        super().__init__(cache, LocalEmbedder(model_id=model_id, model_dir=str(directory)))
        self.seconds = seconds  # how long the tune took


def _key(rows: Sequence[FaqRow], recipe: Recipe) -> str:
    text = json.dumps([[r.id, *r.phrasings] for r in rows]) + repr(recipe)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def tuned(rows: Sequence[FaqRow], cache: Path, label: str,
          recipe: Recipe = SHIPPED_RECIPE) -> TunedModel | str:
    """The model tuned to ``rows`` with ``recipe`` (tuned now, or kept from a previous
    run); the tune's refusal as text when it has nothing to learn from."""
    from bot.faq.tune import tune

    folder = cache / f"tuned-{_key(rows, recipe)}"
    done = folder / "report.json"
    if not done.is_file():
        print(f"tuning {label} ({len(rows)} FAQs, "
              f"{sum(len(r.phrasings) for r in rows)} phrasings)…", file=sys.stderr, flush=True)
        try:
            report = tune(rows, folder / "model", progress=False, recipe=recipe)
        except UserError as refused:
            return refused.problem
        done.write_text(json.dumps({"model_id": report.model_id, "seconds": report.seconds}),
                        encoding="utf-8")
        print(f"  {report.seconds:.0f} s", file=sys.stderr, flush=True)
    meta = json.loads(done.read_text(encoding="utf-8"))
    return TunedModel(meta["model_id"], folder / "model", float(meta["seconds"]), cache)


@dataclass(frozen=True)
class TunedFaq:
    """An FAQ embedded by the model tuned to it, and its two calibrations."""

    model: TunedModel
    faq: FaqData  # calibration: none (set per run)
    in_sample: Calibration | None  # learned from the phrasings the model trained on
    crossed: Calibration | None  # learned from phrasings a second tune held out
    crossfit_seconds: float  # the second tune; 0 when there was none


def embedded(rows: Sequence[FaqRow], model: CachedEmbedder | LocalEmbedder) -> FaqData:
    flat = model.embed([p for r in rows for p in r.phrasings])
    ends = np.cumsum([len(r.phrasings) for r in rows])
    return assemble(list(rows), np.split(flat, ends[:-1]), model, "benchmark")


def tuned_faq(rows: Sequence[FaqRow], cache: Path, label: str,
              recipe: Recipe = SHIPPED_RECIPE) -> TunedFaq | str:
    """``rows`` as ``faqbot build --tune`` makes them (with the default ``recipe``; plus
    the in-sample calibration it had before cross-fitting); the tune's refusal as text."""
    full = tuned(rows, cache, label, recipe)
    if isinstance(full, str):
        return full
    ids = [r.id for r in rows]
    faq = embedded(rows, full)
    in_sample = learn(faq.index.matrix, faq.phrase_rows, ids)
    train, mask = split(rows)
    second = tuned(train, cache, f"{label} (cross-fitting)", recipe)
    if isinstance(second, str):
        return TunedFaq(full, faq, in_sample, None, 0.0)
    held = embedded(rows, second)
    crossed = learn(held.index.matrix, held.phrase_rows, ids, questions=mask)
    return TunedFaq(full, faq, in_sample, crossed, second.seconds)
