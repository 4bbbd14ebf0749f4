"""``faqbot eval --by-faq``: which FAQs the labelled set confuses, and which questions it missed.

The summary rates say how often the bot is wrong; these lists say where, so the fix (an
alternate, a sharper question, two FAQs merged) goes to the FAQ that needs it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.faq.policy import Decision, decide

if TYPE_CHECKING:
    from bot.faq.evaluate import Case

# Text output shows this many of each list; --json has them all.
LIMIT = 10
QUESTION_WIDTH = 70


def analyse(cases: Sequence[Case], ids: Sequence[str], *, min_score: float,
            margin: float) -> dict[str, list[dict[str, Any]]]:
    """The confused pairs (expected FAQ X, FAQ Y ranked first or shown), most frequent first,
    and the missed questions in the labelled file's order, each with the top hit's scores."""
    pairs: Counter[tuple[str, str]] = Counter()
    ranked_first: Counter[tuple[str, str]] = Counter()
    missed = []
    for case in cases:
        decision, shown = decide(case.hits, min_score=min_score, margin=margin)
        shown_ids = [h.id for h in shown]
        expected = None if case.expected is None else ids[case.expected]
        best = case.hits[0] if case.hits else None
        if expected is not None:
            rivals = set(shown_ids) | ({best.id} if best else set())
            pairs.update((expected, rival) for rival in rivals - {expected})
            if best and best.id != expected:
                ranked_first[(expected, best.id)] += 1
        if (expected not in shown_ids) if expected is not None else bool(shown_ids):
            missed.append({
                "question": case.question, "expected": expected, "decision": str(decision),
                "shown": shown_ids, "best": best.id if best else None,
                "score": round(best.score, 4) if best else None,
                "decision_score": round(best.gate_score, 4) if best else None,
            })
    confused = [{"expected": x, "got": y, "count": n, "ranked_first": ranked_first[(x, y)]}
                for (x, y), n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))]
    return {"confused": confused, "missed": missed}


def as_lines(by_faq: dict[str, list[dict[str, Any]]], *, calibrated: bool,
             limit: int = LIMIT) -> list[str]:
    """The two lists for a terminal: ``limit`` entries each, then how many more."""
    confused, missed = by_faq["confused"], by_faq["missed"]
    lines = [f"confused FAQs ({len(confused)} pairs; questions, expected → got):"
             if confused else "confused FAQs: none"]
    for pair in confused[:limit]:
        first = pair["ranked_first"]
        lines.append(f"  {pair['count']:>3}  {pair['expected']} → {pair['got']}"
                     f"  (ranked first {first}, among the choices {pair['count'] - first})")
    lines += _more(confused, limit)
    lines.append(f"missed questions ({len(missed)}):" if missed else "missed questions: none")
    for case in missed[:limit]:
        lines.append(f"  {_quoted(case['question'])}")
        lines.append(f"    {_outcome(case)}; {_scores(case, calibrated)}")
    lines += _more(missed, limit)
    return lines


def _more(items: list[Any], limit: int) -> list[str]:
    extra = len(items) - limit
    return [f"  and {extra} more (--json lists them all)"] if extra > 0 else []


def _quoted(question: str) -> str:
    if len(question) > QUESTION_WIDTH:
        question = question[:QUESTION_WIDTH - 1] + "…"
    return f'"{question}"'


def _outcome(case: dict[str, Any]) -> str:
    expected = case["expected"] or "silence (off-topic)"
    got = "silence" if case["decision"] == Decision.NONE else (
        f"{case['decision']}: {', '.join(case['shown'])}")
    return f"expected {expected}, got {got}"


def _scores(case: dict[str, Any], calibrated: bool) -> str:
    if case["best"] is None:
        return "no FAQ ranked"
    text = f"best {case['best']}: score {case['score']:.2f}"
    return f"{text}, decision {case['decision_score']:.3f}" if calibrated else text
