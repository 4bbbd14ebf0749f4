"""The tuned model as the local embedder runs it: a float ONNX graph with the same inputs
and output (``input_ids``, ``attention_mask``, ``token_type_ids`` → token vectors; pooling
stays in the embedder). The embedder serves it as its fast graph (fused, 8-bit where that
moves the vectors little: ``bot.faq.embedders.fast_graph``), like the stock model; the
export reports how far that moves the FAQ's own phrasings. Imports torch."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bot.faq.embedders.bert_onnx import INPUTS, OPSET, OUTPUT


@dataclass(frozen=True)
class Exported:
    fast: bool  # served as its fast graph (else as exported: no onnx to build it)
    drift: float  # worst 1 - cosine of the served vectors against float over the phrasings
    mean_drift: float


class _TokenVectors(torch.nn.Module):
    """The encoder with positional inputs and one output, as the ONNX graph needs."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state


def _export_float(model: Any, path: Path) -> None:
    model.config._attn_implementation = "eager"  # traces to plain ops at any batch shape
    wrapper = _TokenVectors(model).eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    mask[1, 5:] = 0  # trace the padded path, not a shortcut for a full mask
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, OUTPUT)}
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on constant shapes
        torch.onnx.export(wrapper, (ids, mask, torch.zeros_like(ids)), str(path),
                          input_names=list(INPUTS), output_names=[OUTPUT],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def _drift(directory: Path, texts: Sequence[str]) -> tuple[bool, float, float]:
    """Whether ``directory``'s model is served fast, and the worst and mean 1 - cosine
    between its served vectors of ``texts`` and the float graph's."""
    from bot.faq.embedders.local import LocalEmbedder

    served = LocalEmbedder(model_id="drift check", model_dir=str(directory))
    exact = LocalEmbedder(model_id="drift check", model_dir=str(directory), fast=False)
    cosines = np.concatenate([(served.embed(texts[i:i + 64]) * exact.embed(texts[i:i + 64]))
                              .sum(axis=1) for i in range(0, len(texts), 64)])
    return served.fast, float(1 - cosines.min()), float(1 - cosines.mean())


def export(model: Any, base: Path, out: Path, texts: Sequence[str]) -> Exported:
    """Write ``out/model.onnx`` and ``out/tokenizer.json`` (plus ``config.json`` and the
    pooling config a text-embeddings-inference server reads)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    _export_float(model, out / "model.onnx")
    shutil.copyfile(base / "tokenizer.json", out / "tokenizer.json")
    shutil.copyfile(base / "config.json", out / "config.json")
    (out / "1_Pooling").mkdir()
    (out / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": model.config.hidden_size, "pooling_mode_mean_tokens": True,
         "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False}), encoding="utf-8")
    fast, worst, mean = _drift(out, texts)
    return Exported(fast=fast, drift=worst, mean_drift=mean)
