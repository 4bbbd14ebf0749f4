"""A card's calibration is range-checked like its ``thresholds`` (#17 item 10): a hand edit
such as ``threshold: -1000`` is ignored with a warning naming it, and the bot falls back to
the fixed floor instead of answering chatter in every FAQ channel."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.cli import main
from bot.faq.calibration import Calibration
from bot.faq.dataset import build

OFFICE = Path(__file__).parent / "office" / "faq.csv"
CHATTER = "good morning team"
GOOD = {"version": 1, "threshold": -0.2, "margin": 0.05, "default_typical": 0.5,
        "channel": {"threshold": -0.1, "margin": 0.08}, "typical": {"a": 0.6}}


@pytest.mark.parametrize("edit", [
    {"threshold": -1000}, {"threshold": float("nan")}, {"margin": -0.5}, {"margin": 9},
    {"default_typical": 5}, {"typical": {"a": -1000}},
    {"channel": {"threshold": -1000, "margin": 0.08}},
    {"channel": {"threshold": -0.1, "margin": float("inf")}}])
def test_an_out_of_range_value_is_ignored_with_a_warning(edit, caplog):
    assert Calibration.from_meta(GOOD) is not None
    with caplog.at_level(logging.WARNING):
        assert Calibration.from_meta({**GOOD, **edit}) is None
    assert "out of range" in caplog.text and "faqbot build" in caplog.text


@pytest.mark.parametrize("line", ["threshold", "time-off"])  # time-off: a typical score
def test_a_card_edited_to_minus_1000_does_not_answer_chatter(line, tmp_path, embedder,
                                                            monkeypatch, capsys):
    out = build(str(OFFICE), tmp_path / "office", embedder, progress=False).out
    card = out / "README.md"
    lines = card.read_text().splitlines()
    at = next(i for i, text in enumerate(lines) if text.strip().startswith(f"{line}:"))
    lines[at] = lines[at].split(":")[0] + ": -1000"
    card.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("FAQ_DATASET", str(out))
    monkeypatch.setenv("EMBEDDING_BACKEND", "local")
    assert main(["ask", CHATTER, "--json"]) == 0
    captured = capsys.readouterr()
    asked = json.loads(captured.out)
    assert asked["decision"] == "none" and asked.get("channel_decision", "none") == "none"
