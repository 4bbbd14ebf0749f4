"""Training pairs from an FAQ's own phrasings, batched for in-batch negatives.

Each phrasing is paired with another phrasing of the same FAQ. In a batch, every other
pair's positive is a negative for this one (MultipleNegativesRanking), so a batch must never
hold two pairs of one FAQ: they would be pushed apart while being the same question.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from bot.faq.sources import FaqRow


@dataclass(frozen=True)
class Pair:
    faq: int  # the FAQ's row
    anchor: str
    positive: str


def phrasing_pairs(rows: Sequence[FaqRow]) -> list[Pair]:
    """Every phrasing once as the anchor, its positive the FAQ's next phrasing (in a ring);
    an FAQ with one phrasing has no pair."""
    pairs = []
    for n, row in enumerate(rows):
        phrasings = list(dict.fromkeys(p for p in row.phrasings if p.strip()))
        if len(phrasings) < 2:
            continue
        for i, anchor in enumerate(phrasings):
            pairs.append(Pair(n, anchor, phrasings[(i + 1) % len(phrasings)]))
    return pairs


def batches(pairs: Sequence[Pair], size: int, *, seed: int = 0) -> list[list[Pair]]:
    """Shuffled batches of at most ``size`` pairs, no FAQ twice in one; a pair left alone
    (nothing to contrast it with) is dropped."""
    pending = list(pairs)
    random.Random(seed).shuffle(pending)
    out = []
    while pending:
        batch: list[Pair] = []
        seen: set[int] = set()
        rest = []
        for pair in pending:
            if len(batch) < size and pair.faq not in seen:
                batch.append(pair)
                seen.add(pair.faq)
            else:
                rest.append(pair)
        if len(batch) > 1:
            out.append(batch)
        pending = rest
    return out
