"""``faqbot eval --write``: the suggested thresholds go into a local dataset's card, and every
later load (``ask``, ``serve``) uses them; anything but a built directory is refused."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import pytest

from bot.cli import main
from bot.config import DEFAULT_MIN_SCORE, SAMPLE_DATASET, Settings
from bot.faq.answerer import Answerer, load_answerer
from bot.faq.dataset import build, parse_card_file
from bot.faq.thresholds import Thresholds, effective
from tests.conftest import ROOT, SAMPLE_SOURCE

LABELLED = ROOT / "examples" / "medicare" / "eval.csv"
# Scores about 0.50 on the FAQ built without alternates (0.4996 by the int8 file, 0.5054 by
# the fast graph): silent at the default 0.51.
BORDERLINE = "i already have part a, how do i add part b?"


@pytest.fixture
def plain_dataset(tmp_path, embedder):
    """The sample FAQ without its alternates: nothing to calibrate, so cosine thresholds."""
    source = tmp_path / "plain.csv"
    with SAMPLE_SOURCE.open(newline="") as f, source.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["id", "question", "answer"])
        writer.writeheader()
        writer.writerows({k: row[k] for k in ("id", "question", "answer")}
                         for row in csv.DictReader(f))
    report = build(str(source), tmp_path / "plain", embedder, progress=False)
    assert not report.calibrated
    return report.out


def eval_write(monkeypatch, capsys, dataset) -> tuple[dict, str]:
    monkeypatch.setenv("FAQ_DATASET", str(dataset))
    assert main(["eval", str(LABELLED), "--json", "--write"]) == 0
    out, err = capsys.readouterr()
    return json.loads(out), err


def ask(capsys, question: str) -> str:
    assert main(["ask", question, "--json"]) == 0
    return json.loads(capsys.readouterr().out)["decision"]


def test_uncalibrated_round_trip_ask_uses_the_written_thresholds(
        plain_dataset, monkeypatch, capsys, embedder):
    monkeypatch.setenv("FAQ_DATASET", str(plain_dataset))
    assert ask(capsys, BORDERLINE) == "none"
    result, err = eval_write(monkeypatch, capsys, plain_dataset)
    suggested = result["suggested"]
    assert suggested["min_score"] < DEFAULT_MIN_SCORE  # this set asks for a lower floor
    assert f"thresholds min_score {suggested['min_score']}, margin {suggested['margin']}" in err
    assert parse_card_file(plain_dataset)["thresholds"] == suggested
    assert ask(capsys, BORDERLINE) == "answer"
    answerer = load_answerer(Settings.from_env(), embedder=embedder)
    assert (answerer.min_score, answerer.margin) == (suggested["min_score"],
                                                     suggested["margin"])

    monkeypatch.setenv("ANSWER_MIN_SCORE", "0.51")  # set explicitly: the environment wins
    assert ask(capsys, BORDERLINE) == "none"
    answerer = load_answerer(Settings.from_env(), embedder=embedder)
    assert (answerer.min_score, answerer.margin) == (0.51, suggested["margin"])
    _, err = eval_write(monkeypatch, capsys, plain_dataset)
    assert "still win over the dataset's thresholds" in err


def test_calibrated_round_trip_updates_only_threshold_and_margin(
        tmp_path, monkeypatch, capsys, embedder):
    out = build(str(SAMPLE_SOURCE), tmp_path / "ds", embedder, progress=False).out
    before = (out / "README.md").read_text()
    learned = parse_card_file(out)["calibration"]
    result, err = eval_write(monkeypatch, capsys, out)
    assert result["calibrated"] and result["min_score"] == learned["threshold"]
    suggested = result["suggested"]
    assert (f"calibration threshold {learned['threshold']} → {suggested['min_score']}"
            in err)
    written = parse_card_file(out)["calibration"]
    assert written == {**learned, "threshold": suggested["min_score"],
                       "margin": suggested["margin"]}
    after = (out / "README.md").read_text()
    assert after[after.index("\n---\n"):] == before[before.index("\n---\n"):]  # body kept
    answerer = load_answerer(Settings.from_env(), embedder=embedder)
    assert (answerer.min_score, answerer.margin) == (suggested["min_score"],
                                                     suggested["margin"])
    assert "thresholds" not in parse_card_file(out)
    monkeypatch.setenv("FAQ_DATASET", str(out))
    assert main(["eval", str(LABELLED), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["min_score"] == suggested["min_score"]


@pytest.mark.parametrize(("dataset", "what"), [
    ("acme/faq", "is a Hub dataset id"),
    (str(SAMPLE_SOURCE), "is not a directory"),
    (str(SAMPLE_DATASET), "is the bundled sample"),
    ("", "is the bundled sample"),  # unset: the default
    (str(ROOT / "examples" / "medicare"), "has no faqbot card"),
])
def test_write_needs_a_local_built_directory(monkeypatch, capsys, dataset, what):
    card = (SAMPLE_DATASET / "README.md").read_text()
    monkeypatch.setenv("FAQ_DATASET", dataset)
    assert main(["eval", str(LABELLED), "--write"]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # refused before any work
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --write needs a local dataset "
                                                   "directory"), err
    assert what in lines[0] and "faqbot build SOURCE --out DIR" in lines[0]
    assert (SAMPLE_DATASET / "README.md").read_text() == card


def test_stored_thresholds_out_of_range_or_malformed_are_ignored() -> None:
    assert Thresholds.from_meta({"min_score": 0.4, "margin": 0.02}) == Thresholds(0.4, 0.02)
    for meta in (None, [], {"min_score": 0.4}, {"min_score": "x", "margin": 0.1},
                 {"min_score": 3.0, "margin": 0.1}, {"min_score": 0.4, "margin": -1},
                 {"min_score": float("nan"), "margin": 0.1}):
        assert Thresholds.from_meta(meta) is None


def test_each_threshold_comes_from_the_environment_then_the_dataset_then_the_default():
    stored = Thresholds(0.4, 0.02)
    assert effective(stored, None, None) == stored
    assert effective(stored, 0.6, None) == Thresholds(0.6, 0.02)
    assert effective(stored, None, 0.0) == Thresholds(0.4, 0.0)
    assert effective(None, None, None) == Thresholds(0.51, 0.035)


def test_a_swapped_in_faqs_stored_thresholds_apply_without_a_restart(answerer, embedder):
    """As when the watcher loads a new Hub commit whose card `eval --write` changed."""
    plain = replace(answerer.faq, calibration=None, thresholds=None)
    follows = Answerer(faq=plain, embedder=embedder)
    assert (follows.min_score, follows.margin) == (0.51, 0.035)
    follows.swap(replace(plain, thresholds=Thresholds(0.42, 0.05)))
    assert (follows.min_score, follows.margin) == (0.42, 0.05)
    pinned = Answerer(faq=plain, embedder=embedder, min_score=0.6)  # ANSWER_MIN_SCORE set
    pinned.swap(replace(plain, thresholds=Thresholds(0.42, 0.05)))
    assert (pinned.min_score, pinned.margin) == (0.6, 0.05)
