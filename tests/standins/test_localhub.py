"""Proof that LocalHub stands in for the Hub: the real clients, in subprocesses, no network."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.standins.localhub import LocalHub, local_hub  # noqa: F401

CARD = """\
---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
---
# tiny-faq

A three-row FAQ used by the tests.
"""
SHARD = "data/train-00000-of-00001.parquet"

V1 = [
    {"question": "How do I reset my password?", "answer": "Use the 'Forgot password' link."},
    {"question": "Where is the VPN guide?", "answer": "In the IT wiki."},
    {"question": "Who approves leave?", "answer": "Your manager."},
]
MAIN = [*V1[:2], {"question": "Who approves leave?", "answer": "Your manager, in the HR tool."}]
BRANCH = [{"question": "Is this the v2 branch?", "answer": "Yes."}]


def _parquet(rows: list[dict[str, str]], path: Path) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def _run_client(hub: LocalHub, hf_home: Path, code: str, *args: str) -> str:
    """Run `code` in a fresh interpreter pointed at the hub; return its stdout's last line."""
    res = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=hub.env(hf_home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, f"client failed:\n{res.stderr[-4000:]}"
    assert hub.refused(hf_home) == [], "the client tried to reach a non-loopback address"
    return res.stdout.strip().splitlines()[-1]


LOAD = """\
import json, sys
import datasets
datasets.disable_progress_bars()
out = {}
for name, rev in json.loads(sys.argv[1]).items():
    ds = datasets.load_dataset("acme/tiny-faq", split="train", revision=rev)
    out[name] = ds.to_list()
print(json.dumps(out))
"""


def _load(hub: LocalHub, hf_home: Path, revisions: dict[str, str | None]) -> dict[str, list]:
    return json.loads(_run_client(hub, hf_home, LOAD, json.dumps(revisions)))


def test_load_dataset_by_revision(local_hub: LocalHub, tmp_path: Path) -> None:  # noqa: F811
    first = local_hub.add_repo(
        "datasets",
        "acme/tiny-faq",
        {"README.md": CARD, SHARD: _parquet(V1, tmp_path / "v1.parquet")},
    )
    hf_home = tmp_path / "hf"
    assert _load(local_hub, hf_home, {"main": None}) == {"main": V1}

    second = local_hub.commit(
        "datasets", "acme/tiny-faq", {SHARD: _parquet(MAIN, tmp_path / "main.parquet")}
    )
    v2 = local_hub.branch(
        "datasets", "acme/tiny-faq", "v2", {SHARD: _parquet(BRANCH, tmp_path / "v2.parquet")}
    )
    assert len({first, second, v2}) == 3 and all(len(s) == 40 for s in (first, second, v2))

    # Same HF_HOME as the first load: a moved `main` must not be served from the client's cache.
    got = _load(local_hub, hf_home, {"first": first, "v2": "v2", "main": None})
    assert got == {"first": V1, "v2": BRANCH, "main": MAIN}
    assert local_hub.refused() == []


def test_hf_hub_download_model_file(local_hub: LocalHub, tmp_path: Path) -> None:  # noqa: F811
    onnx = bytes(range(256)) * 4
    local_hub.add_repo(
        "models",
        "acme/tiny-model",
        {"tokenizer.json": json.dumps({"version": "1.0"}), "onnx/model.onnx": onnx},
    )
    code = (
        "from huggingface_hub import hf_hub_download\n"
        "print(hf_hub_download('acme/tiny-model', 'onnx/model.onnx'))\n"
    )
    path = Path(_run_client(local_hub, tmp_path / "hf", code))
    assert path.is_relative_to(tmp_path / "hf")
    assert path.read_bytes() == onnx


def test_clients_cannot_leave_loopback(local_hub: LocalHub, tmp_path: Path) -> None:  # noqa: F811
    """The guard in env() is what makes "offline" checkable: prove it is really installed."""
    code = """\
import socket
for target in [("192.0.2.1", 443), ("huggingface.co", 443)]:
    try:
        socket.create_connection(target, timeout=1)
    except ConnectionRefusedError as e:
        assert "network guard" in str(e), e
    else:
        raise SystemExit(f"connected to {target}")
print("blocked")
"""
    res = subprocess.run(
        [sys.executable, "-c", code],
        env=local_hub.env(tmp_path / "hf"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (res.returncode, res.stdout.strip()) == (0, "blocked"), res.stderr
    assert len(local_hub.refused(tmp_path / "hf")) == 2
