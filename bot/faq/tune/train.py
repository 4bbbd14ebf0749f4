"""Contrastive fine-tuning on CPU: MultipleNegativesRanking over (phrasing, other phrasing
of the same FAQ) pairs, with mean pooling like the served model. Imports torch."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer

from bot.faq.tune.pairs import Pair
from bot.faq.tune.recipe import Recipe


def load_tokenizer(path: Path, max_tokens: int) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_padding()
    tokenizer.enable_truncation(max_tokens)
    return tokenizer


def load_model(base: Path) -> Any:
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # the tune's own bar is the one shown
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    return AutoModel.from_pretrained(str(base), attn_implementation="sdpa")


def _tensors(tokenizer: Tokenizer, texts: Sequence[str]) -> dict[str, torch.Tensor]:
    encodings = tokenizer.encode_batch(list(texts))
    return {
        "input_ids": torch.tensor(np.array([e.ids for e in encodings], dtype=np.int64)),
        "attention_mask": torch.tensor(np.array([e.attention_mask for e in encodings],
                                                dtype=np.int64)),
        "token_type_ids": torch.tensor(np.array([e.type_ids for e in encodings],
                                                dtype=np.int64)),
    }


def embed(model: Any, tokenizer: Tokenizer, texts: Sequence[str]) -> torch.Tensor:
    """Mean-pooled, L2-normalised sentence vectors: the local embedder's recipe."""
    feeds = _tensors(tokenizer, texts)
    tokens = model(**feeds).last_hidden_state
    mask = feeds["attention_mask"].unsqueeze(-1).to(tokens.dtype)
    pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def train(model: Any, tokenizer: Tokenizer, batches: Sequence[Sequence[Pair]], recipe: Recipe,
          *, progress: bool) -> float:
    """Tune ``model`` in place; returns the last batch's loss."""
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(recipe.seed)
    steps = recipe.epochs * len(batches)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate)
    schedule = get_linear_schedule_with_warmup(optimizer, int(steps * recipe.warmup), steps)
    model.train()
    loss = torch.tensor(0.0)
    with tqdm(total=steps, desc="tuning", unit="batch", disable=not progress) as bar:
        for _ in range(recipe.epochs):
            for batch in batches:
                anchors = embed(model, tokenizer, [p.anchor for p in batch])
                positives = embed(model, tokenizer, [p.positive for p in batch])
                logits = anchors @ positives.T * recipe.scale
                labels = torch.arange(len(batch))
                loss = (torch.nn.functional.cross_entropy(logits, labels)
                        + torch.nn.functional.cross_entropy(logits.T, labels)) / 2
                loss.backward()
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    return float(loss.item())
