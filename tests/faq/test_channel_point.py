"""Two operating points from one simulation: the strict one for top-level channel messages
(one answer or silence) and the direct one for mentions, DMs and ``/faq``."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.faq.advice import too_small
from bot.faq.answerer import Answerer
from bot.faq.calibration import CHANNEL_SILENCE, CHANNEL_TYPICAL, learn, simulate
from bot.faq.dataset import build, load_faq
from bot.faq.evaluate import evaluate
from bot.faq.index import top_k
from bot.faq.sources import read_source
from tests.faq.test_calibration import DIM, NoEmbedder, clusters, faq_of, unit

OFFICE = Path(__file__).parent / "office"  # 5 FAQs, 2 alternates each, and questions for it


def learned(blocks):
    faq = faq_of(blocks)
    faq.calibration = learn(faq.index.matrix, faq.phrase_rows, [r.id for r in faq.rows])
    return faq


def test_the_channel_point_is_stricter_and_silences_the_simulated_near_misses():
    _, blocks, _ = clusters(30, 6, 2.0)  # loose enough that the direct point answers some
    faq = learned(blocks)
    cal = faq.calibration
    assert cal.channel_threshold > cal.threshold and cal.channel_margin >= cal.margin
    sim = simulate(faq.index.matrix, faq.phrase_rows)
    values, rows = top_k(sim.off, 2)
    answered = ((values[:, 0] - sim.typical[rows[:, 0]] >= cal.channel_threshold)
                & (values[:, 0] - values[:, 1] >= cal.channel_margin))
    assert answered.mean() <= 1 - CHANNEL_SILENCE


def test_far_apart_topics_still_hold_a_channel_answer_to_its_faqs_own_phrasings():
    """Five tight, distant topics: no near-miss comes close, so the bar comes from the FAQ's
    own held-out phrasings (all but their lowest quarter), not from the direct point."""
    _, blocks, _ = clusters(5, 3, 1.5, seed=5)
    faq = learned(blocks)
    cal = faq.calibration
    sim = simulate(faq.index.matrix, faq.phrase_rows)
    own = sim.on[np.arange(len(sim.labels)), sim.labels] - sim.typical[sim.labels]
    assert cal.channel_threshold >= np.quantile(own, 1 - CHANNEL_TYPICAL) > cal.threshold


def test_a_channel_answer_is_always_the_direct_answer_and_never_choices():
    centres, blocks, rng = clusters(12, 4, 2.0, seed=4)
    answerer = Answerer(faq=learned(blocks), embedder=NoEmbedder())
    between = [unit(centres[i] + centres[i + 1]) for i in range(11)]  # asks two FAQs at once
    near = [unit(c + rng.normal(size=DIM) * s / np.sqrt(DIM)) for c in centres
            for s in (0.5, 1.5, 3.0)]
    answers = [answerer.answer_vector(v) for v in between + near]
    assert {a.channel_decision for a in answers} <= {"answer", "none"}
    assert {a.decision for a in answers} == {"answer", "choices", "none"}
    for a in answers:
        if a.channel_decision == "answer":
            assert a.decision == "answer" and a.unprompted().shown == a.shown
        else:
            assert a.unprompted().decision == "none" and a.unprompted().shown == ()


def test_without_a_calibration_a_channel_gets_the_same_floor_without_choices():
    _, blocks, _ = clusters(6, 1, 0.5)
    faq = faq_of(blocks)  # one phrasing each: nothing learned
    answerer = Answerer(faq=faq, embedder=NoEmbedder(), min_score=-1.0, margin=2.0)
    answer = answerer.answer_vector(unit(np.ones(DIM)))
    assert answer.decision == "choices" and answer.channel_decision == "none"
    assert answerer.channel_point == (-1.0, 2.0)


def office_rates(answerer: Answerer) -> dict:
    return evaluate(OFFICE / "questions.csv", answerer)


@pytest.fixture(scope="module")
def office(tmp_path_factory, embedder):
    """The office FAQ built as a user would, with the frozen model."""
    report = build(str(OFFICE / "faq.csv"), tmp_path_factory.mktemp("office") / "ds", embedder,
                   progress=False)
    return report


def test_a_5_entry_office_faq_is_answered_directly_and_right_when_unprompted(office, embedder):
    answerer = Answerer(faq=load_faq(str(office.out), embedder), embedder=embedder)
    result = office_rates(answerer)
    assert result["shown_recall"] >= 0.9  # asked directly
    channel = result["channel"]
    assert channel["single_answer_accuracy"] >= 0.8 and channel["abstain_recall"] >= 0.9
    for near_miss in ("what time does the office open?", "can I bring my dog to the office?"):
        assert answerer.ask(near_miss).channel_decision == "none"  # not the parking answer


def test_building_the_office_faq_says_it_is_too_small_and_what_to_add(office):
    [small] = [w for w in office.warnings if "too small to be trusted unprompted" in w]
    assert "15 simulated near-misses" in small and "one more alternate to every FAQ" in small


def test_the_advice_counts_what_to_add():
    rows = read_source(str(OFFICE / "faq.csv"))
    lonely = [replace(r, alternates=()) for r in rows[:2]] + rows[2:]  # 9 near-misses
    advice = too_small(lonely)
    assert "9 simulated near-misses" in advice
    assert "two alternates to each of the 2 FAQs without any" in advice  # +6: 15
    assert "one more alternate to every FAQ" in advice  # +5: 20
    assert too_small([replace(r, alternates=(*r.alternates, "x?")) for r in rows]) is None


def test_cli_json_carries_both_decisions(office, monkeypatch, capsys):
    monkeypatch.setenv("FAQ_DATASET", str(office.out))
    monkeypatch.setenv("EMBEDDING_BACKEND", "local")
    assert main(["ask", "what time does the office open?", "--json"]) == 0
    asked = json.loads(capsys.readouterr().out)
    assert asked["decision"] == "answer" and asked["channel_decision"] == "none"
    assert main(["eval", str(OFFICE / "questions.csv"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["channel"]) == set(result) - {"channel"}
    with (OFFICE / "questions.csv").open() as f:
        assert result["channel"]["n"] == result["n"] == len(list(csv.DictReader(f)))
    assert result["channel"]["min_score"] > result["min_score"]
