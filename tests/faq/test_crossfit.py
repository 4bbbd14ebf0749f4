"""The cross-fitting split: which phrasings the second tune leaves out for calibration."""

from __future__ import annotations

from bot.faq.sources import FaqRow
from bot.faq.tune.crossfit import split


def test_every_third_phrasing_is_held_out_and_never_the_question() -> None:
    rows = [FaqRow(id="a", question="q", answer="x", alternates=("1", "2", "3", "4", "5")),
            FaqRow(id="b", question="only", answer="y"),
            FaqRow(id="c", question="q3", answer="z", alternates=("1", "2"))]
    train, mask = split(rows)
    assert [r.phrasings for r in train] == [("q", "1", "3", "4"), ("only",), ("q3", "1")]
    assert [r.answer for r in train] == ["x", "y", "z"]
    held = [p for r in rows for p in r.phrasings]
    assert [p for p, m in zip(held, mask, strict=True) if m] == ["2", "5", "2"]
