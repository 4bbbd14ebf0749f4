"""``faqbot prepare``: the fast graph built ahead of the first start, or the fix that gets it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnx")

from bot.config import Settings
from bot.faq.embedders.model_files import from_packages
from bot.faq.embedders.prepare import WEIGHTS_INSTALL, prepare
from tests.faq.embedders.test_fast_graph import _tiny_bert


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "faqbot" / "onnx"


def test_a_float_model_gets_its_graph_built_and_named(tmp_path, cache):
    model_dir = _tiny_bert(tmp_path)
    said = prepare(Settings.from_env({"EMBEDDING_MODEL_DIR": str(model_dir),
                                      "EMBEDDING_BACKEND": "local"}))
    [built] = cache.glob("*.fast.onnx")
    assert said.startswith("ready: ") and str(built) in said


def test_without_onnx_it_says_which_extra_builds_the_graph(tmp_path, cache, monkeypatch):
    model_dir = _tiny_bert(tmp_path)
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the package were not installed
    said = prepare(Settings.from_env({"EMBEDDING_MODEL_DIR": str(model_dir),
                                      "EMBEDDING_BACKEND": "local"}))
    assert said.startswith("ready, but unfused") and "pip install 'faqbot[fast]'" in said
    assert not list(cache.glob("*.fast.onnx"))


def test_the_stock_int8_file_alone_asks_for_the_float_weights(tmp_path, cache):
    """A copy of the shipped int8 model is the stock model, but holds no float weights."""
    stock = from_packages()
    if stock is None:
        pytest.skip("the local extra's model files are not installed")
    shutil.copy(stock.model, tmp_path / "model.onnx")
    shutil.copy(stock.tokenizer, tmp_path / "tokenizer.json")
    said = prepare(Settings.from_env({"EMBEDDING_MODEL_DIR": str(tmp_path),
                                      "EMBEDDING_BACKEND": "local"}))
    assert said.startswith("ready, but unfused") and WEIGHTS_INSTALL in said


def test_an_api_backend_has_nothing_to_build(cache):
    said = prepare(Settings.from_env({"EMBEDDING_BACKEND": "api", "HF_TOKEN": "hf_test"}))
    assert said.startswith("nothing to prepare") and not cache.exists()
