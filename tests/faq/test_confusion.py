"""``faqbot eval --by-faq``: confused FAQ pairs and missed questions, from ranked hits."""

from __future__ import annotations

from bot.faq.confusion import analyse, as_lines
from bot.faq.evaluate import Case
from bot.faq.policy import Hit

IDS = ["a", "b", "c", "d"]
MIN_SCORE, MARGIN = 0.5, 0.25  # exact in binary, as in test_policy


def case(question: str, expected: int | None, *ranked: tuple[int, float]) -> Case:
    hits = tuple(Hit(row=row, id=IDS[row], question=f"{IDS[row]}?", answer="…", url="",
                     score=score) for row, score in ranked)
    return Case(question, expected, hits)


CASES = [
    case("right", 0, (0, 0.9), (1, 0.3)),                   # answered a: nothing to report
    case("wrong first", 0, (1, 0.9), (0, 0.3)),             # answered b instead of a
    case("choices", 0, (0, 0.75), (2, 0.625), (3, 0.6)),    # a shown, with c and d
    case("too quiet", 2, (1, 0.375), (2, 0.25)),            # silence; b ranked above c
    case("chatter answered", None, (3, 0.75), (0, 0.25)),
    case("chatter silent", None, (1, 0.25)),
]


def test_pairs_count_rivals_ranked_first_or_shown_and_misses_keep_the_file_order() -> None:
    result = analyse(CASES, IDS, min_score=MIN_SCORE, margin=MARGIN)
    assert result["confused"] == [
        {"expected": "a", "got": "b", "count": 1, "ranked_first": 1},
        {"expected": "a", "got": "c", "count": 1, "ranked_first": 0},
        {"expected": "a", "got": "d", "count": 1, "ranked_first": 0},
        {"expected": "c", "got": "b", "count": 1, "ranked_first": 1},
    ]
    assert [(m["question"], m["expected"], m["decision"], m["shown"], m["best"])
            for m in result["missed"]] == [
        ("wrong first", "a", "answer", ["b"], "b"),
        ("too quiet", "c", "none", [], "b"),
        ("chatter answered", None, "answer", ["d"], "d"),
    ]
    assert result["missed"][1]["score"] == result["missed"][1]["decision_score"] == 0.375


def test_the_same_pair_adds_up_and_sorts_first() -> None:
    twice = [case("one", 2, (1, 0.9)), case("two", 2, (1, 0.8)), *CASES]
    top = analyse(twice, IDS, min_score=MIN_SCORE, margin=MARGIN)["confused"][0]
    assert top == {"expected": "c", "got": "b", "count": 3, "ranked_first": 3}


def test_text_lists_are_capped_with_how_many_more() -> None:
    result = analyse(CASES, IDS, min_score=MIN_SCORE, margin=MARGIN)
    lines = as_lines(result, calibrated=False, limit=2)
    assert lines[0] == "confused FAQs (4 pairs; questions, expected → got):"
    assert lines[1] == "    1  a → b  (ranked first 1, among the choices 0)"
    assert "  and 2 more (--json lists them all)" in lines
    assert "missed questions (3):" in lines
    assert '  "too quiet"' in lines
    assert "    expected c, got silence; best b: score 0.38" in lines
    assert lines[-1] == "  and 1 more (--json lists them all)"
    assert not any("decision" in line for line in lines if "score" in line)


def test_nothing_to_report_says_so() -> None:
    lines = as_lines(analyse(CASES[:1], IDS, min_score=MIN_SCORE, margin=MARGIN),
                     calibrated=True)
    assert lines == ["confused FAQs: none", "missed questions: none"]
