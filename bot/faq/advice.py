"""Advice for FAQ writers, printed by ``faqbot build``: one line per problem found.

An FAQ without alternates gives the build nothing to learn its typical score from, and
two FAQs whose phrasings ask nearly the same question will always come out as choices. An
FAQ with too few phrasings in all can't show that its channel point stays silent on
near-misses, so it is not yet to be trusted with answers nobody asked for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bot.faq.calibration import CHANNEL_SILENCE, MIN_NEAR_MISSES, near_misses
from bot.faq.sources import FaqRow

# Mean directions this close: the two FAQs are, to the model, the same question.
NEAR_DUPLICATE = 0.9
MAX_LINES = 20
CHUNK = 1024


def near_duplicates(directions: np.ndarray) -> list[tuple[int, int, float]]:
    """Pairs (i < j) of rows whose mean directions are at least ``NEAR_DUPLICATE`` alike."""
    pairs = []
    for lo in range(0, len(directions), CHUNK):
        sims = directions[lo:lo + CHUNK] @ directions.T
        for i, j in zip(*np.nonzero(sims >= NEAR_DUPLICATE), strict=True):
            if lo + i < j:
                pairs.append((int(lo + i), int(j), float(sims[i, j])))
    return sorted(pairs, key=lambda p: -p[2])


def _capped(lines: list[str], what: str) -> list[str]:
    if len(lines) <= MAX_LINES:
        return lines
    return [*lines[:MAX_LINES], f"warning: … and {len(lines) - MAX_LINES} more {what}"]


def too_small(rows: Sequence[FaqRow]) -> str | None:
    """Why unprompted answers can't be trusted yet, and what to add; ``None`` when they can."""
    found = near_misses([len(r.phrasings) for r in rows])
    if found >= MIN_NEAR_MISSES or not rows:
        return None
    short = MIN_NEAR_MISSES - found
    lonely = sum(not r.alternates for r in rows)
    # Two alternates make a lonely FAQ's three phrasings count; one more anywhere adds one.
    each = math.ceil((short - 3 * lonely) / len(rows)) if short > 3 * lonely else 0
    what = (f"two alternates to each of the {lonely} FAQs without any" if lonely else "")
    if each:
        more = "one more alternate" if each == 1 else f"{each} more alternates"
        what += (" and " if what else "") + f"{more} to every FAQ"
    until = ("answered only above every near-miss there is" if found else
             "held to the fixed ANSWER_MIN_SCORE")
    return (f"warning: this FAQ is too small to be trusted unprompted: its phrasings make "
            f"{found} simulated near-misses, and showing that top-level channel messages stay "
            f"silent on {CHANNEL_SILENCE:.0%} of them takes {MIN_NEAR_MISSES}. Until then a "
            f"channel message is {until}. Add {what} "
            f"(or more FAQs, each with alternates), then build again")


def faq_warnings(rows: Sequence[FaqRow], directions: np.ndarray) -> tuple[str, ...]:
    lonely = [f"warning: FAQ {r.id!r} has no alternates; add two or three other ways people "
              f"ask it" for r in rows if not r.alternates]
    twins = [f"warning: FAQs {rows[i].id!r} and {rows[j].id!r} ask nearly the same question "
             f"(similarity {s:.2f}); merge them or make their phrasings distinct"
             for i, j, s in near_duplicates(directions)]
    small = too_small(rows)
    return (*_capped(lonely, "FAQs without alternates"), *_capped(twins, "near-duplicate pairs"),
            *([small] if small else ()))
