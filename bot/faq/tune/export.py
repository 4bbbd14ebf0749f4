"""The tuned model as the local embedder runs it: ONNX with the same inputs and output
(``input_ids``, ``attention_mask``, ``token_type_ids`` → token vectors; pooling stays in
the embedder), int8 where that moves the vectors little. Imports torch."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import torch

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "last_hidden_state"
# int8 is kept when, over the FAQ's own phrasings, 1 - cosine between its vectors and the
# float model's stays under both: the mean (the ranking of close FAQs moves past ~0.01) and
# the worst single text (a phrasing whose vector turns elsewhere).
MAX_MEAN_DRIFT = 0.01
MAX_WORST_DRIFT = 0.05
OPSET = 17


@dataclass(frozen=True)
class Exported:
    int8: bool
    drift: float  # worst 1 - cosine of int8 against float over the FAQ's phrasings
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


def _ffn_outputs(path: Path) -> list[str]:
    """The feed-forward output projections (BERT's ``layer.N.output.dense``): their inputs
    carry the large activation outliers that 8-bit activations round worst. Left in float,
    they halve the drift for 11 MB more (all-MiniLM-L6-v2: mean 0.0065 → 0.0038)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type == "MatMul"
            and "/output/dense/" in n.name and "/attention/" not in n.name]


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # its advice to pre-process, on the root logger
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8,
                         per_channel=True, nodes_to_exclude=_ffn_outputs(source))
    finally:
        logging.disable(logging.NOTSET)


def _vectors(directory: Path, texts: Sequence[str]) -> np.ndarray:
    from bot.faq.embedders.local import LocalEmbedder

    embedder = LocalEmbedder(model_id="drift check", model_dir=str(directory))
    return np.concatenate([embedder.embed(texts[i:i + 64]) for i in range(0, len(texts), 64)])


def drift(float_dir: Path, int8_dir: Path, texts: Sequence[str]) -> tuple[float, float]:
    """Worst and mean 1 - cosine between the two models' vectors of ``texts``."""
    cosines = (_vectors(float_dir, texts) * _vectors(int8_dir, texts)).sum(axis=1)
    return float(1 - cosines.min()), float(1 - cosines.mean())


def export(model: Any, base: Path, out: Path, texts: Sequence[str]) -> Exported:
    """Write ``out/model.onnx`` and ``out/tokenizer.json`` (plus ``config.json`` and the
    pooling config a text-embeddings-inference server reads)."""
    with TemporaryDirectory(prefix="faqbot-export-") as temp:
        float_dir, int8_dir = Path(temp, "float"), Path(temp, "int8")
        for directory in (float_dir, int8_dir):
            directory.mkdir()
            shutil.copyfile(base / "tokenizer.json", directory / "tokenizer.json")
        _export_float(model, float_dir / "model.onnx")
        _quantize(float_dir / "model.onnx", int8_dir / "model.onnx")
        worst, mean = drift(float_dir, int8_dir, texts)
        int8 = mean <= MAX_MEAN_DRIFT and worst <= MAX_WORST_DRIFT
        chosen = int8_dir if int8 else float_dir
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for name in ("model.onnx", "tokenizer.json"):
            shutil.copyfile(chosen / name, out / name)
    shutil.copyfile(base / "config.json", out / "config.json")
    (out / "1_Pooling").mkdir()
    (out / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": model.config.hidden_size, "pooling_mode_mean_tokens": True,
         "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False}), encoding="utf-8")
    return Exported(int8=int8, drift=worst, mean_drift=mean)
