"""The training recipe: its defaults are what `faqbot build --tune` and `faqbot tune` use."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """One epoch at a small learning rate: enough to separate an FAQ's near-duplicates,
    little enough to keep what the base model knows about everything else."""

    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 2e-5
    warmup: float = 0.1  # fraction of the steps
    scale: float = 20.0  # cosine → logits, as sentence-transformers' MNRL
    max_tokens: int = 64  # FAQ phrasings are short; the served model truncates at 256
    seed: int = 0
