"""The answer policy, ``decide``: one answer, three choices or silence, at its boundaries."""

from __future__ import annotations

import json

import pytest

from bot.faq.policy import CHOICE_COUNT, Answer, Decision, Hit, decide

# Scores that are exact in binary, so a difference equal to the margin is exactly equal.
MIN_SCORE, MARGIN = 0.5, 0.25


def hits(*scores: float) -> tuple[Hit, ...]:
    return tuple(Hit(row=n, id=f"faq-{n}", question=f"Q{n}?", answer=f"A{n}.", url="",
                     score=score) for n, score in enumerate(scores))


def ids(shown: tuple[Hit, ...]) -> list[str]:
    return [hit.id for hit in shown]


def test_no_candidates_is_silence() -> None:
    assert decide((), min_score=MIN_SCORE, margin=MARGIN) == (Decision.NONE, ())


@pytest.mark.parametrize(("best", "decision"), [
    (0.4999, Decision.NONE), (0.5, Decision.ANSWER), (0.5001, Decision.ANSWER)])
def test_min_score_is_inclusive(best: float, decision: Decision) -> None:
    got, shown = decide(hits(best), min_score=MIN_SCORE, margin=MARGIN)
    assert got is decision
    assert ids(shown) == (["faq-0"] if decision is Decision.ANSWER else [])


@pytest.mark.parametrize(("runner_up", "decision"), [
    (0.5, Decision.ANSWER),  # 0.75 - 0.5 == margin: clear enough
    (0.5625, Decision.CHOICES),  # within the margin
    (0.75, Decision.CHOICES),  # a tie
    (0.25, Decision.ANSWER)])  # far behind
def test_margin_separates_one_answer_from_choices(runner_up: float, decision: Decision) -> None:
    got, _ = decide(hits(0.75, runner_up), min_score=MIN_SCORE, margin=MARGIN)
    assert got is decision


def test_choices_show_the_best_three_in_order() -> None:
    got, shown = decide(hits(0.75, 0.74, 0.73, 0.72, 0.71), min_score=MIN_SCORE, margin=MARGIN)
    assert got is Decision.CHOICES and CHOICE_COUNT == 3
    assert ids(shown) == ["faq-0", "faq-1", "faq-2"]


def test_choices_with_only_two_candidates_show_two() -> None:
    got, shown = decide(hits(0.75, 0.74), min_score=MIN_SCORE, margin=MARGIN)
    assert (got, ids(shown)) == (Decision.CHOICES, ["faq-0", "faq-1"])


def test_the_margin_applies_only_above_min_score() -> None:
    """Two close candidates that both score too low are silence, not choices."""
    assert decide(hits(0.45, 0.44), min_score=MIN_SCORE, margin=MARGIN) == (Decision.NONE, ())


def test_an_answer_shows_only_the_best() -> None:
    got, shown = decide(hits(0.9, 0.5, 0.4), min_score=MIN_SCORE, margin=MARGIN)
    assert (got, ids(shown)) == (Decision.ANSWER, ["faq-0"])


def test_margin_zero_never_offers_choices_unless_tied() -> None:
    assert decide(hits(0.75, 0.7499), min_score=MIN_SCORE, margin=0.0)[0] is Decision.ANSWER
    assert decide(hits(0.75, 0.75), min_score=MIN_SCORE, margin=0.0)[0] is Decision.ANSWER


@pytest.mark.parametrize(("decision_score", "decision"), [
    (None, Decision.ANSWER),  # an uncalibrated dataset: the cosine itself is gated
    (0.5, Decision.ANSWER),
    (0.4999, Decision.NONE)])  # a high cosine, but far under this FAQ's typical score
def test_a_learned_decision_score_is_what_the_floor_gates(decision_score: float | None,
                                                          decision: Decision) -> None:
    best = Hit(row=0, id="faq-0", question="Q0?", answer="A0.", url="", score=0.9,
               decision_score=decision_score)
    assert decide((best,), min_score=MIN_SCORE, margin=MARGIN)[0] is decision


def test_a_negative_min_score_answers_everything_with_a_candidate() -> None:
    assert decide(hits(-0.2), min_score=-1.0, margin=MARGIN)[0] is Decision.ANSWER


def test_decisions_are_the_json_and_log_strings() -> None:
    assert [d.value for d in Decision] == ["answer", "choices", "none"]
    assert Decision("choices") is Decision.CHOICES and Decision.NONE == "none"
    shown = hits(0.123456)
    answer = Answer(decision=Decision.ANSWER, shown=shown, candidates=shown,
                    channel_decision=Decision.NONE)
    assert json.loads(json.dumps(answer.to_json())) == {
        "decision": "answer", "channel_decision": "none",
        "shown": [{"id": "faq-0", "row": 0, "question": "Q0?", "answer": "A0.", "url": "",
                   "score": 0.1235, "decision_score": 0.1235}],
        "candidates": [{"id": "faq-0", "row": 0, "question": "Q0?", "answer": "A0.",
                        "url": "", "score": 0.1235, "decision_score": 0.1235}],
        "near": []}
