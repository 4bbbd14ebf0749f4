"""The costliest text to embed per word: long made-up words, each of which WordPiece splits
into several tokens. Shared by the benchmarks that measure embedding's worst case."""

from __future__ import annotations

import random
import string


def long_made_up_words(rng: random.Random, words: int) -> str:
    """``words`` made-up words of 10 to 16 letters, separated by spaces."""
    return " ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(10, 16)))
                    for _ in range(words))
