"""Speed against score drift for the ways onnxruntime can run all-MiniLM-L6-v2 in int8 on
this CPU: why the fast graph is 8-bit ``MatMulNBits`` in blocks of 16 with float value
projections, and how far a faster recipe would move the scores.

A script, not a test. From the true float weights and onnxruntime's BERT fusions (as the
fast graph is built), each variant quantizes the fused graph's matrix multiplies:

- ``MatMulNBits`` (8-bit weights, activations quantized to int8 per row and block, as
  ``fast_graph.eight_bit`` does) in blocks of 16, 32, 64 and 128, with the attention's value
  projections kept float or not;
- onnxruntime's dynamic quantization (``quantize_dynamic``: int8 weights per tensor or per
  output channel, activations to uint8 with one scale per tensor, its VNNI kernels);
- its static quantization (``quantize_static``, QDQ, weights per channel), calibrated on the
  FAQ's own phrasings (the Medicare sample's, which the drift is also measured on: in its
  favour).

For each it prints the session alone on one thread (ms per Medicare eval question, each
question's fastest of interleaved rounds, the median over questions) and as a ratio to a
plain session on the shipped int8 file in the same run, then the score drift against the
float graph: p99 and max of |cosine difference| over every pair of the Medicare sample's
phrasings and 1,000 BANKING77 test questions (``embed_speed``'s measure). The fast graph's
budget is p99 0.005 (issue 20).

Run from the repository root, under ``nice`` (it needs the tune extra's weights package)::

    nice -n 10 .venv/bin/python -m benchmarks.quantization_frontier [--datasets ../shared/datasets]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks.embed_speed import (
    BANK_QUESTIONS,
    Graph,
    benchmark_inputs,
    drift,
    embed_all,
    feeds_of,
    graph_alone,
    load_line,
    use_threads,
)
from benchmarks.labelled import read_csv
from benchmarks.quality import medicare_set
from bot.config import DEFAULT_MODEL
from bot.faq.embedders import fast_graph
from bot.faq.embedders.local import LocalEmbedder

BLOCKS = (16, 32, 64, 128)


def _values(name: str) -> bool:
    return "/value/" in name


def _nothing(name: str) -> bool:
    return False


class _Phrasings:
    """onnxruntime's calibration reader: one tokenised phrasing at a time."""

    def __init__(self, feeds: list[dict[str, np.ndarray]]) -> None:
        self._feeds = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def variants(fused: Path, out: Path, calibration: list[dict[str, np.ndarray]]
             ) -> list[tuple[str, Path]]:
    """The quantized variants of the fused float graph at ``fused``, written into ``out``;
    the static one calibrated on ``calibration`` (the session inputs of the FAQ's
    phrasings)."""
    import onnx
    from onnx import helper
    from onnxruntime.quantization import QuantType, quantize_dynamic, quantize_static

    made = []
    for block in BLOCKS:
        for keep, label in ((_values, "values float"), (_nothing, "all")):
            path = out / f"nbits{block}-{label.split()[0]}.onnx"
            onnx.save(fast_graph.eight_bit(onnx.load(str(fused)), keep, block), str(path))
            made.append((f"MatMulNBits, blocks of {block}, {label}", path))
    # quantize_dynamic's shape inference needs the fused ops' domain declared
    model = onnx.load(str(fused))
    if not any(opset.domain == "com.microsoft" for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    declared = out / "fused-declared.onnx"
    onnx.save(model, str(declared))
    for per_channel in (False, True):
        path = out / f"dynamic-{per_channel}.onnx"
        quantize_dynamic(str(declared), str(path), per_channel=per_channel,
                         weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        made.append((f"dynamic int8, {'per channel' if per_channel else 'per tensor'}", path))
    path = out / "static.onnx"
    quantize_static(str(declared), str(path), _Phrasings(calibration), per_channel=True,
                    weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                    extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    made.append(("static int8 (QDQ, per channel), calibrated on the FAQ's phrasings", path))
    return made


def graph_on(name: str, path: Path, float_dir: Path, plain: bool = False) -> Graph:
    """A ``Graph`` whose embedder tokenises and pools as served, and runs ``path``."""
    embedder = LocalEmbedder(model_id=name, model_dir=str(float_dir), fast=False)
    embedder.embed(["load"])
    return Graph(name, embedder, path, plain=plain)


def main() -> int:
    import onnx

    with benchmark_inputs(__doc__.splitlines()[0], "faqbot-frontier-") as inputs:
        if inputs is None:
            return 2
        bank_dir, float_dir = inputs
        fused = float_dir / "fused.onnx"
        onnx.save(fast_graph.fuse(onnx.load(str(float_dir / "model.onnx"))), str(fused))
        stock = LocalEmbedder(model_id=DEFAULT_MODEL, fast=False)
        stock.embed(["load"])
        assert stock.files is not None
        fused_graph = graph_on("fused float", fused, float_dir)
        use_threads(fused_graph, 1)
        calibration = [feeds_of(fused_graph, text) for text in medicare_phrasings()]
        all_graphs = [graph_on("float32 reference", float_dir / "model.onnx", float_dir),
                      graph_on("plain session, int8 file", stock.files.model, float_dir,
                               plain=True),
                      fused_graph,
                      *[graph_on(name, path, float_dir)
                        for name, path in variants(fused, float_dir, calibration)]]
        report(all_graphs, [r["text"] for r in read_csv(bank_dir / "test.csv")][:BANK_QUESTIONS])
    return 0


def medicare_phrasings() -> list[str]:
    return [p for row in medicare_set().rows for p in row.phrasings]


def report(all_graphs: list[Graph], bank: list[str]) -> None:
    phrasings = medicare_phrasings()
    alone = graph_alone(all_graphs, medicare_set().questions[:60])
    for graph in all_graphs:
        use_threads(graph, 1)
    texts = phrasings + bank
    reference = embed_all(all_graphs[0].embedder, texts)
    plain = alone[all_graphs[1].name]
    print(f"{load_line()}; drift over {len(phrasings)} Medicare phrasings + {len(bank)} "
          f"BANKING77 questions\n")
    print("| graph | ms/question, graph alone, 1 thread | x plain | score drift p99 | max |")
    print("|---|---:|---:|---:|---:|")
    for graph in all_graphs:
        d = drift(embed_all(graph.embedder, texts), reference, reference)
        print(f"| {graph.name} | {alone[graph.name]:.2f} | {alone[graph.name] / plain:.2f} "
              f"| {d['p99']:.4f} | {d['max']:.4f} |")
    print(f"\nend: {load_line()}")


if __name__ == "__main__":
    sys.exit(main())
