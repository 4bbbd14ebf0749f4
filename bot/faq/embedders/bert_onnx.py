"""A float BERT encoder as ONNX, written from ``config.json`` and ``model.safetensors`` with
numpy and onnx alone: the true float weights become a graph without torch.

The graph is the plain one a BERT export has (embeddings, then per layer: attention, its
output projection and LayerNorm, the feed-forward and its LayerNorm), so onnxruntime's
transformer optimizer recognises and fuses it like an exported one. Inputs ``input_ids``,
``attention_mask``, ``token_type_ids``; output ``last_hidden_state`` (pooling stays in the
embedder).
"""

from __future__ import annotations

import json
import mmap
import struct
from pathlib import Path
from typing import Any

import numpy as np

OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "last_hidden_state"
_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every float tensor of a safetensors file as float32 (the format: an 8-byte header
    length, a JSON header of dtypes, shapes and offsets, then the raw little-endian data).
    Integer buffers (``position_ids``) are not weights and are left out. The file is mapped,
    not read: float32 tensors are views of it."""
    with path.open("rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] not in _DTYPES:
            continue
        start, end = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]])
        raw = np.frombuffer(mapped, dtype=dtype, count=(end - start) // dtype.itemsize,
                            offset=8 + length + start)
        if info["dtype"] == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = raw.astype(np.float32, copy=False).reshape(info["shape"])
    return tensors


class _Graph:
    """A model under construction, with fresh names. Each weight is written straight into
    the model's initializers once: building a graph and then a model from lists would copy
    all of them twice more (90 MB each for all-MiniLM-L6-v2)."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        import onnx

        self.weights = weights
        self.model = onnx.ModelProto()
        self._count = 0

    def const(self, value: Any, name: str = "", dtype: Any = np.int64) -> str:
        from onnx import helper

        self._count += 1
        name = name or f"const_{self._count}"
        array = np.asarray(value, dtype=dtype)  # tobytes() writes C order whatever its layout
        tensor = self.model.graph.initializer.add()
        tensor.name = name
        tensor.data_type = helper.np_dtype_to_tensor_dtype(array.dtype)
        tensor.dims.extend(array.shape)
        tensor.raw_data = array.tobytes()
        return name

    def weight(self, key: str, transpose: bool = False) -> str:
        array = self.weights[key]
        return self.const(array.T.copy() if transpose else array, key, np.float32)

    def op(self, op_type: str, inputs: list[str], name: str, **attrs: Any) -> str:
        from onnx import helper

        self.model.graph.node.append(
            helper.make_node(op_type, inputs, [f"{name}_out"], name=name, **attrs))
        return f"{name}_out"

    def linear(self, x: str, key: str, name: str) -> str:
        product = self.op("MatMul", [x, self.weight(f"{key}.weight", transpose=True)],
                          f"{name}/MatMul")
        return self.op("Add", [self.weight(f"{key}.bias"), product], f"{name}/Add")

    def layer_norm(self, x: str, key: str, name: str, eps: float) -> str:
        return self.op("LayerNormalization",
                       [x, self.weight(f"{key}.weight"), self.weight(f"{key}.bias")],
                       name, axis=-1, epsilon=eps)


def _prefix(weights: dict[str, np.ndarray]) -> str:
    """``bert.`` or ``model.`` when the checkpoint nests the encoder, else nothing."""
    for prefix in ("", "bert.", "model."):
        if f"{prefix}embeddings.word_embeddings.weight" in weights:
            return prefix
    raise ValueError("no BERT embeddings (embeddings.word_embeddings.weight) in the weights")


def _embeddings(g: _Graph, eps: float) -> str:
    # position ids: the first ``tokens`` of 0, 1, 2, … (sliced as an export does, which the
    # optimizer's embedding fusion recognises)
    table = len(g.weights["embeddings.position_embeddings.weight"])
    shape = g.op("Shape", ["input_ids"], "emb/Shape")
    length = g.op("Gather", [shape, g.const(1)], "emb/Gather", axis=0)
    length = g.op("Unsqueeze", [length, g.const([0])], "emb/Unsqueeze")
    positions = g.op("Slice", [g.const(np.arange(table)[None]), g.const([0]), length,
                               g.const([1]), g.const([1])], "emb/Slice")
    words = g.op("Gather", [g.weight("embeddings.word_embeddings.weight"), "input_ids"],
                 "emb/word")
    types = g.op("Gather", [g.weight("embeddings.token_type_embeddings.weight"),
                            "token_type_ids"], "emb/type")
    summed = g.op("Add", [words, types], "emb/Add")
    where = g.op("Gather", [g.weight("embeddings.position_embeddings.weight"), positions],
                 "emb/position")
    summed = g.op("Add", [summed, where], "emb/Add_1")
    return g.layer_norm(summed, "embeddings.LayerNorm", "emb/LayerNorm", eps)


def _mask_bias(g: _Graph) -> str:
    """(batch, 1, 1, tokens): 0 where attended, a large negative number on padding."""
    mask = g.op("Unsqueeze", ["attention_mask", g.const([1])], "mask/Unsqueeze")
    mask = g.op("Unsqueeze", [mask, g.const([2])], "mask/Unsqueeze_1")
    mask = g.op("Cast", [mask], "mask/Cast", to=1)
    inverted = g.op("Sub", [g.const(1.0, dtype=np.float32), mask], "mask/Sub")
    return g.op("Mul", [inverted, g.const(-10000.0, dtype=np.float32)], "mask/Mul")


def _heads(g: _Graph, x: str, shape: str, name: str, perm: list[int]) -> str:
    split = g.op("Reshape", [x, shape], f"{name}/Reshape")
    return g.op("Transpose", [split], f"{name}/Transpose", perm=perm)


def _layer(g: _Graph, x: str, mask: str, n: int, config: dict[str, Any]) -> str:
    key, name = f"encoder.layer.{n}", f"layer.{n}"
    heads = int(config["num_attention_heads"])
    size = int(config["hidden_size"]) // heads
    eps = float(config.get("layer_norm_eps", 1e-12))
    split = g.const([0, 0, heads, size])
    query = _heads(g, g.linear(x, f"{key}.attention.self.query", f"{name}/query"), split,
                   f"{name}/query", [0, 2, 1, 3])
    keys = _heads(g, g.linear(x, f"{key}.attention.self.key", f"{name}/key"), split,
                  f"{name}/key", [0, 2, 3, 1])
    values = _heads(g, g.linear(x, f"{key}.attention.self.value", f"{name}/value"), split,
                    f"{name}/value", [0, 2, 1, 3])
    scores = g.op("MatMul", [query, keys], f"{name}/scores")
    scores = g.op("Div", [scores, g.const(np.sqrt(size), dtype=np.float32)], f"{name}/Div")
    scores = g.op("Add", [scores, mask], f"{name}/mask")
    probs = g.op("Softmax", [scores], f"{name}/Softmax", axis=3)
    context = g.op("MatMul", [probs, values], f"{name}/context")
    context = g.op("Transpose", [context], f"{name}/context/Transpose", perm=[0, 2, 1, 3])
    context = g.op("Reshape", [context, g.const([0, 0, heads * size])],
                   f"{name}/context/Reshape")
    attended = g.linear(context, f"{key}.attention.output.dense", f"{name}/attention/output")
    attended = g.op("Add", [attended, x], f"{name}/attention/residual")
    attended = g.layer_norm(attended, f"{key}.attention.output.LayerNorm",
                            f"{name}/attention/LayerNorm", eps)
    inner = g.linear(attended, f"{key}.intermediate.dense", f"{name}/intermediate")
    # GELU, exactly: x * 0.5 * (1 + erf(x / sqrt(2)))
    erf = g.op("Erf", [g.op("Div", [inner, g.const(np.sqrt(2.0), dtype=np.float32)],
                            f"{name}/gelu/Div")], f"{name}/gelu/Erf")
    erf = g.op("Add", [erf, g.const(1.0, dtype=np.float32)], f"{name}/gelu/Add")
    gelu = g.op("Mul", [g.op("Mul", [inner, erf], f"{name}/gelu/Mul"),
                        g.const(0.5, dtype=np.float32)], f"{name}/gelu/Mul_1")
    out = g.linear(gelu, f"{key}.output.dense", f"{name}/output")
    out = g.op("Add", [out, attended], f"{name}/output/residual")
    return g.layer_norm(out, f"{key}.output.LayerNorm", f"{name}/output/LayerNorm", eps)


def bert_onnx(weights_dir: Path) -> Any:
    """The float encoder of ``weights_dir`` (``config.json``, ``model.safetensors``) as an
    onnx ModelProto."""
    from onnx import TensorProto, helper

    config = json.loads((weights_dir / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert" or config.get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"{weights_dir}: not a BERT encoder with GELU "
                         f"(model_type {config.get('model_type')!r})")
    weights = read_safetensors(weights_dir / "model.safetensors")
    prefix = _prefix(weights)
    g = _Graph({k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})
    eps = float(config.get("layer_norm_eps", 1e-12))
    x = _embeddings(g, eps)
    mask = _mask_bias(g)
    for n in range(int(config["num_hidden_layers"])):
        x = _layer(g, x, mask, n, config)
    model = g.model
    model.graph.node.append(helper.make_node("Identity", [x], [OUTPUT], name="output"))
    model.graph.name = "bert"
    dims = ["batch", "tokens"]
    model.graph.input.extend(helper.make_tensor_value_info(i, TensorProto.INT64, dims)
                             for i in INPUTS)
    model.graph.output.append(helper.make_tensor_value_info(
        OUTPUT, TensorProto.FLOAT, [*dims, int(config["hidden_size"])]))
    model.ir_version = 8  # what opset 17 came with; every onnxruntime since 1.13 reads it
    model.opset_import.append(helper.make_opsetid("", OPSET))
    model.producer_name = "faqbot"
    return model
