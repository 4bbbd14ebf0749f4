"""The fast graph of a BERT-style encoder: built once from its float weights, then cached.

1. The float graph: the model file itself when it is float (a tuned model's export, the
   Hub's ONNX), or, for the stock model, one written from the weights package's
   ``model.safetensors`` (``bert_onnx``: numpy and onnx, no torch).
2. onnxruntime's transformer optimizer (``model_type="bert"``) fuses it: the embeddings
   and their LayerNorm, multi-head attention, bias + GELU, residual + LayerNorm.
3. Every matrix multiply with constant weights (but the attention's value projections)
   becomes ``MatMulNBits`` with 8-bit weights in blocks of 16 along the input (a scale
   each), run at ``accuracy_level`` 4: the activations are quantized to int8 per block too.
   Blocks keep one outlier from coarsening a whole row, which is what makes plain dynamic
   quantization drift (its activations share one scale per tensor).
4. The 8-bit graph is kept only when, on this machine, it is faster than the fused float one
   and its vectors stay close to the float graph's on probe sentences; else the fused float
   graph is kept. So a CPU without fast int8 kernels, or a model whose activations quantize
   badly, still gets the fusions and the float model's vectors.

Needs the ``onnx`` package (and onnxruntime's ``transformers`` tools); only the build does,
and the cached result loads with onnxruntime alone.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.faq.embedders.model_files import ModelFiles, unpack_weights

log = logging.getLogger(__name__)

BLOCK = 16
RECIPE = f"fused-mha+matmul8-block{BLOCK}-int8compute+float-values-v2"  # part of the cache key
# MatMuls left in float, by node name: the attention's value projections. Their rounding
# passes straight into every token's output; in float they cost about 0.03x a plain
# session's time and take the score drift's p99 from 0.0052 to 0.0041 (all-MiniLM-L6-v2,
# Medicare phrasings and BANKING77 questions, benchmarks/quantization_frontier.py). Other
# projections drift less each.
KEEP_FLOAT = ("/value/",)
# The fusions rearrange float arithmetic only: their vectors must match the float graph's.
MAX_FUSED_DRIFT = 1e-5
# Kept 8-bit when, over the probes, the worst 1 - cosine to the float graph's vectors is at
# most this (all-MiniLM-L6-v2: 0.001 on them; 0.0002 over 1,091 Medicare and bank texts) ...
MAX_DRIFT = 0.004
# ... and its fastest run is at most this fraction of the fused float graph's: about 0.5 on
# a CPU with int8 dot products, over 3 where the kernels are missing. The fastest of several
# runs, since other work on the machine only ever adds time.
MAX_TIME_RATIO = 0.9
TIMED_RUNS = 7
# Probe sentences of no FAQ in particular: varied lengths, a typo, digits, an emoji.
PROBES = (
    "How do I reset my password?",
    "what time does the office open on saturdays",
    "My package arrived damaged and the box was open, who do I contact?",
    "Can I change the date of my appointment after booking it online?",
    "is there a fee for paying late",
    "I moved to a new address last month, how do I update it in my account?",
    "where is teh nearest branch",
    "Why was I charged twice for the same order #48213?",
    "thanks!",
    "How long does it take to get a refund once the return is received?",
    "Do you offer a discount for students or people over 65?",
    "the app keeps crashing when I open settings 🙁",
)

Probe = Callable[[Any], np.ndarray]  # a session → unit vectors of PROBES


@dataclass(frozen=True)
class Built:
    eight_bit: bool  # else the fused float graph
    drift: float  # worst 1 - cosine to the float graph's vectors over PROBES
    time_ratio: float  # fastest run of the 8-bit graph over the fused float one's


def _is_float(model: Any) -> bool:
    """No integer weights: not a quantized export (its weights would be rounded already)."""
    from onnx import TensorProto

    integer = {TensorProto.INT8, TensorProto.UINT8, TensorProto.INT4, TensorProto.UINT4}
    return not any(init.data_type in integer for init in model.graph.initializer)


def float_graph(files: ModelFiles) -> Any | None:
    """The float graph of ``files``, or None when only a quantized one is at hand."""
    import onnx

    from bot.faq.embedders.bert_onnx import bert_onnx

    if files.weights is not None:
        with tempfile.TemporaryDirectory(prefix="faqbot-weights-") as temp:
            return bert_onnx(unpack_weights(files.weights, Path(temp)))
    model = onnx.load(str(files.model))
    return model if _is_float(model) else None


def fuse(model: Any) -> Any:
    """onnxruntime's BERT fusions (heads and width read from the graph)."""
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    options.use_multi_head_attention = True  # Q, K and V stay MatMuls, so they go 8-bit too
    # Symbolic shape inference needs sympy (27 MB) for a check BERT's residual adds pass
    # anyway (both sides are batch x tokens x width); the build compares the fused graph's
    # vectors with the float graph's instead.
    options.enable_shape_inference = False
    logging.disable(logging.WARNING)  # its notes on the producer name, on root-level loggers
    try:
        fused = optimizer.optimize_model(model, model_type="bert", opt_level=0,
                                         optimization_options=options)
    finally:
        logging.disable(logging.NOTSET)
    log.debug("fused: %s", fused.get_fused_operator_statistics())
    return fused.model


def _matmul_8bit(weight: np.ndarray, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """(K, N) float weights as MatMulNBits wants them: (N, blocks, block) uint8 with 128 as
    zero, and one float scale per block (symmetric: the largest |w| maps to 127)."""
    k, n = weight.shape
    blocks = -(-k // block)
    padded = np.zeros((n, blocks * block), dtype=np.float32)
    padded[:, :k] = weight.T
    padded = padded.reshape(n, blocks, block)
    scales = np.abs(padded).max(axis=2) / 127.0
    scales[scales == 0] = 1.0
    quantized = np.clip(np.rint(padded / scales[..., None]), -127, 127) + 128
    return quantized.astype(np.uint8), scales.reshape(-1).astype(np.float32)


def _sensitive(name: str) -> bool:
    return any(part in name for part in KEEP_FLOAT)


def eight_bit(model: Any, keep_float: Callable[[str], bool] = _sensitive,
              block: int = BLOCK) -> Any:
    """``model``, changed in place: its constant-weight MatMuls become 8-bit ``MatMulNBits``
    in blocks of ``block``, but for those whose node name ``keep_float`` picks."""
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    nodes, replaced = [], set()
    for node in graph.node:
        weight = inits.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2 or keep_float(node.name):
            nodes.append(node)
            continue
        k, n = weight.dims
        quantized, scales = _matmul_8bit(numpy_helper.to_array(weight).astype(np.float32),
                                         block)
        names = (f"{weight.name}_8bit", f"{weight.name}_scales")
        graph.initializer.extend([numpy_helper.from_array(quantized, names[0]),
                                  numpy_helper.from_array(scales, names[1])])
        replaced.add(weight.name)
        nodes.append(helper.make_node(
            "MatMulNBits", [node.input[0], *names], list(node.output), name=node.name,
            domain="com.microsoft", K=k, N=n, bits=8, block_size=block, accuracy_level=4))
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [init for init in graph.initializer if init.name not in replaced]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(opset.domain == "com.microsoft" for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def _fastest_run(session: Any, probe: Probe) -> float:
    timings = []
    for _ in range(TIMED_RUNS):
        start = time.perf_counter()
        probe(session)
        timings.append(time.perf_counter() - start)
    return min(timings)


def build(files: ModelFiles, probe: Probe, target: Path) -> Built | None:
    """Write the fast graph of ``files`` to ``target``; None (and nothing written) when they
    hold no float graph to build from, or the fusions changed its vectors.

    Each step's graph goes to disk before a session reads it back, so about one graph at a
    time is in memory (90 MB for all-MiniLM-L6-v2): a first start that builds peaks near
    600 MB (300 MB once the graph is cached)."""
    import onnx
    import onnxruntime as ort

    source = float_graph(files)
    if source is None:
        return None
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False
    options.intra_op_num_threads = 1  # time both graphs alike, whatever the machine's load

    def saved(model: Any, path: Path) -> Path:
        onnx.save(model, str(path))
        return path

    def session(path: Path) -> Any:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    reference = probe(session(saved(source, target)))
    del source

    def drift_of(vectors: np.ndarray) -> float:
        return float(1 - (vectors * reference).sum(axis=1).min())

    saved(fuse(onnx.load(str(target))), target)
    fused = session(target)
    if drift_of(probe(fused)) > MAX_FUSED_DRIFT:
        log.warning("the fused graph's vectors differ from the float graph's; not using it")
        target.unlink()
        return None
    fused_time = _fastest_run(fused, probe)
    del fused
    trial = target.with_suffix(".8bit")
    try:
        small = session(saved(eight_bit(onnx.load(str(target))), trial))
        drift = drift_of(probe(small))
        ratio = _fastest_run(small, probe) / fused_time
        del small
        keep = drift <= MAX_DRIFT and ratio <= MAX_TIME_RATIO
        if keep:
            trial.replace(target)
    finally:
        trial.unlink(missing_ok=True)
    log.info("fast graph: %s (8-bit drift %.5f, time %.2fx the fused float graph's)",
             "8-bit" if keep else "fused float", drift, ratio)
    return Built(keep, drift, ratio)
