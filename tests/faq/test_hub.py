"""The Hub paths for real: `datasets` and `huggingface_hub` against a local olah mirror.

Every subprocess here gets its whole Hugging Face environment from the test (``hub_env``):
the endpoint, a fresh HF_HOME, and online mode, whatever the caller exported (an air-gapped
``HF_HUB_OFFLINE=1`` included).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SETTINGS, run_cli
from tests.standins.localhub import LocalHub

SAMPLE = ROOT / "bot" / "sample" / "medicare"


def hub_env(hub: LocalHub | None, hf_home: Path, **variables: str) -> dict[str, str]:
    """A subprocess environment whose Hugging Face settings all come from here: the hub's
    (or, without one, only HF_HOME), online, and none of the faqbot settings but ``variables``.
    """
    if hub is not None:
        env = hub.env(hf_home)  # drops every HF_* variable, then sets the hub's
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
        env["HF_HOME"] = str(hf_home)
    env = {k: v for k, v in env.items() if k not in SETTINGS}
    return {**env, "HF_HUB_OFFLINE": "0", **variables}


def sample_files(extra_card: str = "") -> dict[str, Path | str]:
    card = (SAMPLE / "README.md").read_text() + extra_card
    return {"README.md": card, "data/train-00000-of-00001.parquet": SAMPLE / "data" /
            "train-00000-of-00001.parquet"}


@pytest.fixture(scope="module")
def faq_repo(local_hub, tmp_path_factory):
    """acme/medicare-faq: the sample at its first commit; then main and a branch move on."""
    first = local_hub.add_repo("datasets", "acme/medicare-faq", sample_files())
    other = tmp_path_factory.mktemp("other")
    source = other / "faq.csv"
    source.write_text('id,question,answer\nrobots,How do I feed the office robot?,"Oil, daily."\n')
    result = run_cli("build", str(source), "--out", str(other / "ds"), "--quiet")
    assert result.returncode == 0, result.stderr
    local_hub.branch("datasets", "acme/medicare-faq", "robots", {
        "README.md": (other / "ds" / "README.md").read_text(),
        "data/train-00000-of-00001.parquet": other / "ds" / "data" /
        "train-00000-of-00001.parquet"})
    return first


def ask(hub, tmp_path, question: str, **env: str) -> dict:
    result = run_cli("ask", question, "--json", env=hub_env(hub, tmp_path / "hf", **env))
    assert result.returncode == 0, result.stderr
    assert hub.refused(tmp_path / "hf") == []
    return json.loads(result.stdout)


def test_hub_dataset_at_a_branch_and_a_commit(local_hub, faq_repo, tmp_path):
    out = ask(local_hub, tmp_path, "How can Medicare help me?",
              FAQ_DATASET="acme/medicare-faq", FAQ_DATASET_REVISION=faq_repo)
    assert [c["row"] for c in out["candidates"]] == [8, 7, 3, 9, 10]
    out = ask(local_hub, tmp_path, "how do i feed the office robot?",
              FAQ_DATASET="acme/medicare-faq",
              FAQ_DATASET_REVISION="robots")
    assert out["decision"] == "answer" and out["shown"][0]["id"] == "robots"
    out = ask(local_hub, tmp_path, "lost my medicare card", FAQ_DATASET="acme/medicare-faq")
    assert out["shown"][0]["id"] == "replacement-card"


def test_hub_dataset_model_mismatch_is_refused(local_hub, tmp_path):
    card = (SAMPLE / "README.md").read_text().replace(
        "sentence-transformers/all-MiniLM-L6-v2", "BAAI/bge-small-en-v1.5")
    files = sample_files()
    files["README.md"] = card
    local_hub.add_repo("datasets", "acme/other-model", files)
    env = hub_env(local_hub, tmp_path / "hf", FAQ_DATASET="acme/other-model")
    result = run_cli("ask", "hello", env=env)
    assert result.returncode == 2 and "BAAI/bge-small-en-v1.5" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_hub_dataset_is_a_clear_error(local_hub, tmp_path):
    env = hub_env(local_hub, tmp_path / "hf", FAQ_DATASET="acme/nope")
    result = run_cli("ask", "hello", env=env)
    assert result.returncode == 2
    assert "acme/nope" in result.stderr and "FAQ_DATASET" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_local_embedder_falls_back_to_the_hub(local_hub, embedder, tmp_path):
    embedder.dim  # noqa: B018  (loads the packaged files, so we can publish them)
    local_hub.add_repo("models", "acme/minilm-onnx", {
        "onnx/model.onnx": embedder.files.model, "tokenizer.json": embedder.files.tokenizer,
        "README.md": "an ONNX export of all-MiniLM-L6-v2\n"})
    out = ask(local_hub, tmp_path, "How can Medicare help me?",
              EMBEDDING_MODEL="acme/minilm-onnx", FAQ_DATASET=str(ROOT / "examples/medicare"
                                                                  / "faq.csv"))
    assert [c["row"] for c in out["candidates"]] == [8, 7, 3, 9, 10]
    cached = list((tmp_path / "hf").rglob("model.onnx"))
    assert cached, "the model should be in the Hugging Face cache"


def test_unreachable_hub_fails_fast_with_a_clear_message(tmp_path, closed_port):
    env = hub_env(None, tmp_path / "hf", HF_ENDPOINT=f"http://127.0.0.1:{closed_port}",
                  EMBEDDING_MODEL="acme/not-cached",
                  FAQ_DATASET=str(ROOT / "examples/medicare/faq.csv"))
    start = time.perf_counter()
    result = run_cli("ask", "hello", env=env)
    assert result.returncode == 2
    assert "could not get the ONNX files of acme/not-cached" in result.stderr
    assert "EMBEDDING_MODEL_DIR" in result.stderr and "Traceback" not in result.stderr
    assert time.perf_counter() - start < 30
    shutil.rmtree(tmp_path / "hf", ignore_errors=True)
