"""The local ONNX embedder: where its files come from, and that it is safe to share."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bot.errors import UserError
from bot.faq.embedders import model_files
from bot.faq.embedders.local import LocalEmbedder

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def test_packaged_files_are_found_and_hash_checked(embedder):
    assert embedder.dim == 384
    assert embedder.files.source == "offline packages"
    assert model_files.sha256_of(embedder.files.model) == model_files.PACKAGED_MODEL_SHA256


def test_a_hash_mismatch_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(model_files, "PACKAGED_TOKENIZER_SHA256", "0" * 64)
    expected = r"tokenizer\.json has sha256 be50c3628f2b…, expected 000000000000…"
    with pytest.raises(UserError, match=expected):
        LocalEmbedder(model_id=MODEL).embed(["hi"])


def test_explicit_directory_wins(tmp_path, embedder):
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "model.onnx").write_bytes(embedder.files.model.read_bytes())
    (tmp_path / "tokenizer.json").write_bytes(embedder.files.tokenizer.read_bytes())
    local = LocalEmbedder(model_id=MODEL, model_dir=str(tmp_path))
    as_shipped = LocalEmbedder(model_id=MODEL, fast=False)  # the int8 file, as the copy runs
    assert np.allclose(local.embed(["hello"]), as_shipped.embed(["hello"]), atol=1e-6)
    assert local.files.source == f"directory {tmp_path}"


def test_vectors_are_unit_length_and_batches_match_singles(embedder):
    texts = ["How do I sign up for Medicare?", "ok", "🎉🎉", "x " * 5000]
    batch = embedder.embed(texts)
    singles = np.vstack([embedder.embed([t]) for t in texts])
    assert batch.dtype == np.float32 and batch.shape == (4, 384)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert np.allclose(batch, singles, atol=1e-4)  # padding must not change a vector


def test_lazy_load_is_thread_safe():
    fresh = LocalEmbedder(model_id=MODEL)
    assert fresh.files is None  # nothing loaded until first use
    questions = [f"question number {n}" for n in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda q: fresh.embed([q])[0], questions))
    expected = fresh.embed(questions)
    assert np.allclose(np.vstack(results), expected, atol=1e-4)


def test_optimised_model_copy_is_cached_and_equivalent(tmp_path, monkeypatch, embedder):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = LocalEmbedder(model_id=MODEL)
    vectors = first.embed(["How do I get a replacement Medicare card?"])
    copies = list((tmp_path / "faqbot" / "onnx").glob("*.onnx"))
    assert len(copies) == 1
    second = LocalEmbedder(model_id=MODEL)  # loads the cached copy
    assert np.allclose(second.embed(["How do I get a replacement Medicare card?"]), vectors,
                       atol=1e-5)
    copies[0].write_bytes(b"garbage")  # a damaged copy is rebuilt, not fatal
    third = LocalEmbedder(model_id=MODEL)
    assert np.allclose(third.embed(["How do I get a replacement Medicare card?"]), vectors,
                       atol=1e-5)
    assert copies[0].stat().st_size > 1000


class RecordingSession:
    """The real onnxruntime session, remembering the padded shape of every run."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.shapes: list[tuple[int, int]] = []

    def run(self, outputs, feeds):
        self.shapes.append(feeds["input_ids"].shape)
        return self.inner.run(outputs, feeds)


def test_batches_are_cut_by_tokens_not_by_count(embedder):
    """The model pads a run to its longest text and attention grows with the square of that,
    so one call's runs are bounded by padded tokens: 64 texts past the 256-token cap and two
    short ones come back in order, as each embeds alone."""
    from bot.faq.embedders.local import MAX_BATCH_TOKENS, MAX_TOKENS

    local = LocalEmbedder(model_id=MODEL)
    local.embed(["load"])
    local._session = RecordingSession(local._session)
    long = [f"{n} " + "notwithstanding " * 300 for n in range(64)]
    texts = ["where do I park?", *long, "who do I call?"]
    vectors = local.embed(texts)
    assert max(count * longest for count, longest in local._session.shapes) <= MAX_BATCH_TOKENS
    assert len(local._session.shapes) >= 64 * MAX_TOKENS // MAX_BATCH_TOKENS
    alone = np.vstack([embedder.embed([text]) for text in (texts[0], texts[30], texts[-1])])
    assert np.allclose(vectors[[0, 30, -1]], alone, atol=1e-5)
