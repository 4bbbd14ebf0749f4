"""Everyday off-topic phrases that anchor the "this isn't an FAQ question" side.

The list is generic workplace chatter and near-misses (other benefits, other cards,
other premiums). Phrases that closely match one of the loaded FAQs are dropped, so a
team whose FAQ covers the 401k still gets its 401k questions answered.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bot.faq.embedders import Embedder

PHRASES_FILE = Path(__file__).with_name("background.txt")
# A background phrase this close to an FAQ phrasing is about the FAQ's own topic.
OVERLAP = 0.8


def read_phrases(path: Path = PHRASES_FILE) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


class Background:
    """Unit vectors of the background phrases that don't overlap the FAQ."""

    def __init__(self, vectors: np.ndarray, phrases: list[str]) -> None:
        self.vectors = vectors
        self.phrases = phrases

    @classmethod
    def for_faq(cls, embedder: Embedder, faq_matrix: np.ndarray,
                path: Path = PHRASES_FILE) -> Background:
        phrases = read_phrases(path)
        vectors = embedder.embed(phrases)
        keep = (vectors @ faq_matrix.T).max(axis=1) < OVERLAP
        kept = [p for p, k in zip(phrases, keep, strict=True) if k]
        return cls(np.ascontiguousarray(vectors[keep]), kept)

    def score(self, vector: np.ndarray) -> float:
        """Cosine similarity of the closest background phrase (-1 when there are none)."""
        if not len(self.vectors):
            return -1.0
        return float((self.vectors @ vector).max())
