"""``faqbot prepare``: the fast graph built ahead of the first start, or the reason it can't
be, as an error naming the fix (a build step must not ship a slower app without a word)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnx")

from bot.config import Settings
from bot.errors import UserError
from bot.faq.dataset import build
from bot.faq.embedders.local import LocalEmbedder
from bot.faq.embedders.model_files import from_packages
from bot.faq.embedders.prepare import prepare
from tests.conftest import SAMPLE_SOURCE
from tests.faq.embedders.test_fast_graph import _tiny_bert


@pytest.fixture
def tiny_faq(tmp_path: Path) -> dict[str, str]:
    """Settings of a tiny float model and the sample FAQ built with it, in another cache
    than the test's, so the test's starts empty."""
    model_dir = _tiny_bert(tmp_path / "tiny")
    build(str(SAMPLE_SOURCE), tmp_path / "faq", LocalEmbedder(model_id="tiny",
                                                                model_dir=str(model_dir)),
          progress=False)
    return {"EMBEDDING_MODEL_DIR": str(model_dir), "EMBEDDING_MODEL": "tiny",
            "FAQ_DATASET": str(tmp_path / "faq"), "EMBEDDING_BACKEND": "local"}


def test_a_float_model_gets_its_graph_built_and_named(tiny_faq, cache):
    (cache / "stale.none").parent.mkdir(parents=True)
    (cache / "stale.none").touch()  # an earlier build's failure is tried again
    said = prepare(Settings.from_env(tiny_faq))
    [built] = cache.glob("*.fast.onnx")
    assert said.startswith("ready: ") and str(built) in said
    assert not list(cache.glob("*.none"))


def test_without_onnx_it_names_the_extra_that_builds_the_graph(tiny_faq, cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the package were not installed
    with pytest.raises(UserError) as failed:
        prepare(Settings.from_env(tiny_faq))
    assert "pip install 'faqbot[fast]'" in failed.value.fix
    assert not list(cache.glob("*.fast.onnx"))


def test_a_dataset_that_does_not_load_fails_here(tiny_faq, cache, tmp_path):
    with pytest.raises(UserError):
        prepare(Settings.from_env({**tiny_faq, "FAQ_DATASET": str(tmp_path / "missing")}))


def test_the_stock_int8_file_in_a_folder_is_named_as_the_cause(tmp_path, cache):
    """A copy of the shipped int8 model is the stock model, but can't be fused; the packaged
    one, with its float weights, can."""
    stock = from_packages()
    if stock is None:
        pytest.skip("the local extra's model files are not installed")
    shutil.copy(stock.model, tmp_path / "model.onnx")
    shutil.copy(stock.tokenizer, tmp_path / "tokenizer.json")
    with pytest.raises(UserError) as failed:
        prepare(Settings.from_env({"EMBEDDING_MODEL_DIR": str(tmp_path),
                                   "EMBEDDING_BACKEND": "local"}))
    assert "unset EMBEDDING_MODEL_DIR" in failed.value.fix


def test_an_unwritable_cache_is_named(tiny_faq, tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    with pytest.raises(UserError) as failed:
        prepare(Settings.from_env(tiny_faq))
    assert "cannot write the model cache" in failed.value.problem


def test_an_api_backend_has_nothing_to_build(cache):
    said = prepare(Settings.from_env({"EMBEDDING_BACKEND": "api", "HF_TOKEN": "hf_test"}))
    assert said.startswith("nothing to prepare") and not cache.exists()
