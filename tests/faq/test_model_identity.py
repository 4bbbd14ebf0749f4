"""Issue 17 item 7: a dataset is refused by a model other than the one that made its
vectors, even one of the same dimension; the official files of the model pass anywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.faq.dataset import build, parse_card_file
from bot.faq.embedders.model_files import from_packages
from tests.conftest import ROOT, SAMPLE_SOURCE, clean_env, run_cli
from tests.standins.inference_standin import InferenceStandIn

QUESTION = "How do I replace my Medicare card?"


@pytest.fixture(scope="module")
def stock_dataset(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    out = tmp_path_factory.mktemp("stock")
    build(str(SAMPLE_SOURCE), out, embedder, progress=False)
    return out


def _model_copy(directory: Path, *, altered: bool) -> Path:
    """The packaged model's files in a folder; ``altered``: the tokenizer differs by one
    byte of JSON whitespace, which is another model as far as the bytes say."""
    files = from_packages()
    assert files is not None
    directory.mkdir()
    shutil.copyfile(files.model, directory / "model.onnx")
    text = files.tokenizer.read_text(encoding="utf-8")
    (directory / "tokenizer.json").write_text(text + ("\n" if altered else ""),
                                              encoding="utf-8")
    return directory


def _ask(dataset: Path | str, **env: str):
    return run_cli("ask", "--json", QUESTION,
                   env=clean_env(FAQ_DATASET=str(dataset), EMBEDDING_BACKEND="local", **env))


def test_a_build_records_the_fingerprint_of_the_model(stock_dataset: Path) -> None:
    card = parse_card_file(stock_dataset)
    assert len(card["model_sha256"]) == 64 and card["model_stock"] is True
    assert "model_dir" not in card


def test_another_model_of_the_same_size_is_refused_with_the_fix(stock_dataset: Path,
                                                                tmp_path: Path) -> None:
    other = _model_copy(tmp_path / "other", altered=True)
    done = _ask(stock_dataset, EMBEDDING_MODEL_DIR=str(other))
    assert done.returncode == 2
    assert "fingerprint" in done.stderr and "EMBEDDING_MODEL_DIR" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_same_files_from_a_folder_are_accepted(stock_dataset: Path, tmp_path: Path) -> None:
    same = _model_copy(tmp_path / "same", altered=False)
    done = _ask(stock_dataset, EMBEDDING_MODEL_DIR=str(same))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["decision"] == "answer"


def test_a_dataset_from_before_fingerprints_still_loads(tmp_path: Path) -> None:
    sample = ROOT / "bot" / "sample" / "medicare"
    assert "model_sha256" not in parse_card_file(sample)
    other = _model_copy(tmp_path / "other", altered=True)
    assert _ask(sample, EMBEDDING_MODEL_DIR=str(other)).returncode == 0


def test_a_tei_server_serving_another_model_is_refused(stock_dataset: Path, embedder) -> None:
    for served, ok in (("BAAI/bge-small-en-v1.5", False),
                       ("sentence-transformers/all-MiniLM-L6-v2", True)):
        info = {"model_id": served, "model_sha": "0" * 40}
        with InferenceStandIn(embedder.embed, info=info) as tei:
            done = run_cli("ask", QUESTION, env=clean_env(
                FAQ_DATASET=str(stock_dataset), EMBEDDING_BACKEND="api",
                INFERENCE_API_URL=f"{tei.base_url}/embed"))
        assert (done.returncode == 0) is ok, done.stderr
        if not ok:
            assert "serves BAAI/bge-small-en-v1.5" in done.stderr


def test_check_shows_the_recorded_and_the_used_fingerprint(stock_dataset: Path,
                                                           tmp_path: Path) -> None:
    from bot.check import _dataset
    from bot.config import Settings

    result, _ = _dataset(Settings.from_env({"FAQ_DATASET": str(stock_dataset),
                                            "EMBEDDING_BACKEND": "local"}))
    fingerprint = parse_card_file(stock_dataset)["model_sha256"][:12]
    assert result.ok
    assert f"vectors made by model {fingerprint}" in result.detail
    assert f"model in use {fingerprint} from offline packages" in result.detail
    other = _model_copy(tmp_path / "other", altered=True)
    result, _ = _dataset(Settings.from_env({"FAQ_DATASET": str(stock_dataset),
                                            "EMBEDDING_BACKEND": "local",
                                            "EMBEDDING_MODEL_DIR": str(other)}))
    assert not result.ok and "fingerprint" in result.detail
