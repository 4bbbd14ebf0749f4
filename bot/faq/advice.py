"""Advice for FAQ writers, printed by ``faqbot build``: one line per problem found.

An FAQ without alternates gives the build nothing to learn its typical score from, and
two FAQs whose phrasings ask nearly the same question will always come out as choices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

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


def faq_warnings(rows: Sequence[FaqRow], directions: np.ndarray) -> tuple[str, ...]:
    lonely = [f"warning: FAQ {r.id!r} has no alternates; add two or three other ways people "
              f"ask it" for r in rows if not r.alternates]
    twins = [f"warning: FAQs {rows[i].id!r} and {rows[j].id!r} ask nearly the same question "
             f"(similarity {s:.2f}); merge them or make their phrasings distinct"
             for i, j, s in near_duplicates(directions)]
    return (*_capped(lonely, "FAQs without alternates"), *_capped(twins, "near-duplicate pairs"))
