"""Answer-quality ablation: what each part of the answer policy buys, on labelled questions.

A script, not a test: it prints a markdown table, one row per variant and labelled file.
Every variant uses the real local embedder (``LocalEmbedder``; ``EMBEDDING_MODEL`` and
``EMBEDDING_MODEL_DIR`` are honoured) and the shipped sample rows, ``examples/medicare/faq.csv``,
embedded once here and assembled into in-memory ``FaqData`` objects:

a. plain cosine, bare questions: only the 13 canonical questions, no background gate,
   with the thresholds ``bot.faq.evaluate.suggest`` picks for this variant;
b. + alternates: every phrasing (question + alternates), no background gate, its own
   suggested thresholds;
c. + background gate (shipped): every phrasing plus ``Background.for_faq``, once with the
   shipped defaults (``DEFAULT_MIN_SCORE``, ``DEFAULT_MARGIN`` from ``bot.config``) and once
   with its own suggested thresholds.

Metrics are those of ``bot.faq.evaluate.score``. The target (``evaluate.TARGETS``) is
shown recall >= 0.95, single-answer accuracy >= 0.80 and abstain recall (silence on
off-topic questions) >= 0.95; the shipped variant should meet it and the ablations show why
each part is there.

Run::

    /tmp/venv/bin/python benchmarks/policy_ablation.py [--labelled more.csv ...]

Extra labelled CSVs (``question,expected``) must name FAQs of the Medicare sample.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bot.config import DEFAULT_MARGIN, DEFAULT_MIN_SCORE, Settings
from bot.faq.answerer import Answerer, VectorCache
from bot.faq.background import Background
from bot.faq.dataset import FaqData, _assemble
from bot.faq.embedders.local import LocalEmbedder
from bot.faq.evaluate import TARGETS, Case, read_labelled, score, suggest
from bot.faq.sources import FaqRow, read_source

ROOT = Path(__file__).resolve().parents[1]
FAQ_SOURCE = ROOT / "examples" / "medicare" / "faq.csv"
DEFAULT_LABELLED = ROOT / "examples" / "medicare" / "eval.csv"
METRICS = ("top1_accuracy", "single_answer_accuracy", "shown_recall", "abstain_precision",
           "abstain_recall")

Thresholds = Callable[[list[Case]], dict[str, float]]


def phrasing_blocks(rows: list[FaqRow], embedder: LocalEmbedder) -> list[np.ndarray]:
    """One (phrasings, dim) block of unit vectors per row; row i's question is block[i][0]."""
    flat = [p for r in rows for p in r.phrasings]
    matrix = embedder.embed(flat)
    blocks, cursor = [], 0
    for r in rows:
        blocks.append(matrix[cursor:cursor + len(r.phrasings)])
        cursor += len(r.phrasings)
    return blocks


def shipped(_cases: list[Case]) -> dict[str, float]:
    return {"min_score": DEFAULT_MIN_SCORE, "margin": DEFAULT_MARGIN}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelled", action="append", default=[], type=Path,
                        help="another labelled CSV (question,expected); repeatable")
    args = parser.parse_args()
    labelled = [DEFAULT_LABELLED, *(p for p in args.labelled if p.resolve() != DEFAULT_LABELLED)]

    settings = Settings.from_env()
    embedder = LocalEmbedder(model_id=settings.embedding_model,
                             model_dir=settings.embedding_model_dir, token=settings.hf_token)
    rows = read_source(str(FAQ_SOURCE))
    blocks = phrasing_blocks(rows, embedder)
    bare = _assemble(rows, [b[:1] for b in blocks], embedder, "bare questions")
    full = _assemble(rows, blocks, embedder, "all phrasings")
    gate = Background.for_faq(embedder, full.index.matrix)
    cache = VectorCache(4096)  # every variant embeds each labelled question only once

    def answerer(faq: FaqData, background: Background | None) -> Answerer:
        made = Answerer(faq=faq, embedder=embedder, min_score=DEFAULT_MIN_SCORE,
                        margin=DEFAULT_MARGIN, background=background)
        made.cache = cache
        return made

    variants: list[tuple[str, Answerer, Thresholds, str]] = [
        ("a. plain cosine, bare questions", answerer(bare, None), suggest, "suggested"),
        ("b. + alternates", answerer(full, None), suggest, "suggested"),
        ("c. + background gate (shipped)", answerer(full, gate), shipped, "shipped"),
        ("c. + background gate (shipped)", answerer(full, gate), suggest, "suggested"),
    ]

    print(f"model {embedder.model_id} ({embedder.dim} dims); {len(rows)} FAQs, "
          f"{len(full.phrase_rows)} phrasings; background gate keeps {len(gate.phrases)} "
          f"phrases; targets: "
          + ", ".join(f"{k.replace('_', ' ')} >= {v}" for k, v in TARGETS.items()) + "\n")
    print("| labelled | variant | thresholds | min_score | margin | n (off-topic) "
          "| top-1 acc | single-answer acc | shown recall | abstain precision "
          "| abstain recall | meets target |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for path in labelled:
        for name, made, pick, how in variants:
            cases = read_labelled(path, made)
            chosen = pick(cases)
            result = score(cases, chosen["min_score"], chosen["margin"])
            off_topic = sum(c.expected is None for c in cases)
            meets = all(result[k] >= v for k, v in TARGETS.items())
            cells = " | ".join(f"{result[k]:.3f}" for k in METRICS)
            try:
                shown_path = path.resolve().relative_to(ROOT)
            except ValueError:
                shown_path = path
            print(f"| {shown_path} | {name} | {how} | {chosen['min_score']:.3f} "
                  f"| {chosen['margin']:.3f} | {result['n']} ({off_topic}) | {cells} "
                  f"| {'yes' if meets else 'no'} |")
    print("\n`suggest` keeps to grid points that meet the targets whenever any does, so 'no' on "
          "a suggested row means no (min_score, margin) on its grid meets them; it then falls "
          "back to the best sum of the three rates.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
