"""Score the answer policy on labelled questions and suggest its two thresholds.

Each question is embedded once; the grid search over ``min_score`` and ``margin`` then
re-runs only ``decide``, so suggesting thresholds costs no extra embedding. Questions asked
directly and top-level channel messages (one answer or silence, at the channel point) are
scored from the same cases.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import UserError
from bot.faq.answerer import Answerer
from bot.faq.confusion import analyse
from bot.faq.policy import Decision, Hit, decide, decide_unprompted
from bot.faq.question import clean_question

MIN_SCORES = np.round(np.arange(0.30, 0.851, 0.01), 3)
# With a calibrated dataset the floor applies to the score relative to each FAQ's typical one.
RELATIVE_MIN_SCORES = np.round(np.arange(-0.50, 0.201, 0.01), 3)
MARGINS = np.round(np.arange(0.0, 0.101, 0.005), 3)


@dataclass(frozen=True)
class Case:
    question: str
    expected: int | None  # the FAQ row, or None where the bot should stay silent
    hits: tuple[Hit, ...]  # ranked for the decision, best first


def read_labelled(path: Path, answerer: Answerer) -> list[Case]:
    rows = answerer.faq.rows
    by_key = {r.id: i for i, r in enumerate(rows)} | {r.question: i for i, r in enumerate(rows)}
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            records = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"cannot read {path}: {exc}",
                        "give a UTF-8 CSV with question,expected") from None
    if not records or not {"question", "expected"} <= set(records[0]):
        raise UserError(f"{path} needs the columns question,expected",
                        "expected is an FAQ id or question text, empty for off-topic")
    cases = []
    for n, record in enumerate(records, start=2):
        expected = (record.get("expected") or "").strip()
        if expected and expected not in by_key:
            raise UserError(f"{path} line {n}: {expected!r} is not an FAQ id or question",
                            "use an id or the exact question text from the dataset")
        question, _ = clean_question(record.get("question", ""))
        ranked, _ = answerer.rank(answerer.embed_query(question))
        cases.append(Case(question, by_key[expected] if expected else None, ranked))
    return cases


def _decided(case: Case, min_score: float, margin: float,
             unprompted: bool) -> tuple[Decision, list[int]]:
    """The decision and the rows shown for a question asked directly, or unprompted."""
    if not unprompted:
        decision, shown = decide(case.hits, min_score=min_score, margin=margin)
        return decision, [h.row for h in shown]
    decision = decide_unprompted(case.hits, min_score=min_score, margin=margin)
    return decision, [case.hits[0].row] if decision == Decision.ANSWER else []


def score(cases: list[Case], min_score: float, margin: float, *,
          unprompted: bool = False) -> dict[str, Any]:
    """The rates at these thresholds; ``unprompted``: as top-level channel messages."""
    on_topic = [c for c in cases if c.expected is not None]
    off_topic = [c for c in cases if c.expected is None]
    single = shown_hits = top1 = abstained_right = abstained = choices = 0
    for case in cases:
        decision, rows = _decided(case, min_score, margin, unprompted)
        if decision == Decision.NONE:
            abstained += 1
            abstained_right += case.expected is None
        if case.expected is None:
            continue
        choices += decision == Decision.CHOICES
        top1 += bool(case.hits) and case.hits[0].row == case.expected
        shown_hits += case.expected in rows
        single += decision == Decision.ANSWER and rows == [case.expected]

    def ratio(a: int, b: int) -> float:
        return round(a / b, 4) if b else 0.0

    return {
        "n": len(cases),
        "answered_correctly": single,
        "top1_accuracy": ratio(top1, len(on_topic)),
        "single_answer_accuracy": ratio(single, len(on_topic)),
        "shown_recall": ratio(shown_hits, len(on_topic)),
        "abstain_precision": ratio(abstained_right, abstained),
        "abstain_recall": ratio(abstained_right, len(off_topic)),
        "choices_rate": ratio(choices, len(on_topic)),
    }


TARGETS = {"shown_recall": 0.95, "single_answer_accuracy": 0.80, "abstain_recall": 0.95}
SAFETY_STEP = 0.02


def suggest(cases: list[Case], floors: np.ndarray = MIN_SCORES, *,
            unprompted: bool = False) -> dict[str, float]:
    """Thresholds that meet the quality targets, kept one step inside the feasible region.

    Among grid points meeting ``TARGETS`` (or, when none does, those with the best sum of
    the three rates), take the highest ``min_score`` less one safety step, since a higher
    floor protects against chatter the labelled set does not contain; then the median
    feasible ``margin`` at that floor.
    """
    grid = [(score(cases, float(m), float(g), unprompted=unprompted), float(m), float(g))
            for m in floors for g in MARGINS]
    pool = [(m, g) for s, m, g in grid if all(s[k] >= v for k, v in TARGETS.items())]
    if not pool:
        total = {(m, g): sum(s[k] for k in TARGETS) for s, m, g in grid}
        top = max(total.values())
        pool = [key for key, value in total.items() if value >= top - 1e-9]
    ceiling = max(m for m, _ in pool)
    lower = [m for m, _ in pool if m <= ceiling - SAFETY_STEP + 1e-9]
    min_score = max(lower) if lower else ceiling
    margins = sorted(g for m, g in pool if m == min_score)
    return {"min_score": round(min_score, 3), "margin": round(margins[len(margins) // 2], 3)}


def evaluate(path: Path, answerer: Answerer, *, by_faq: bool = False) -> dict[str, Any]:
    """The rates at the answerer's thresholds and the suggested ones, for questions asked
    directly and, under ``channel``, for top-level channel messages; with ``by_faq``, also
    the confused FAQ pairs and the missed questions (``confusion``)."""
    cases = read_labelled(path, answerer)
    result = score(cases, answerer.min_score, answerer.margin)
    result["min_score"] = answerer.min_score
    result["margin"] = answerer.margin
    result["calibrated"] = answerer.calibration is not None
    floors = MIN_SCORES if answerer.calibration is None else RELATIVE_MIN_SCORES
    result["suggested"] = suggest(cases, floors)
    channel_min_score, channel_margin = answerer.channel_point
    channel = score(cases, channel_min_score, channel_margin, unprompted=True)
    channel.update(min_score=channel_min_score, margin=channel_margin,
                   calibrated=result["calibrated"],
                   suggested=suggest(cases, floors, unprompted=True))
    result["channel"] = channel
    if by_faq:
        result["by_faq"] = analyse(cases, [r.id for r in answerer.faq.rows],
                                   min_score=answerer.min_score, margin=answerer.margin)
    return result
