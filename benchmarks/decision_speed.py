"""What the learned decision costs: per question at ask time, and at build time.

A script, not a test. On 1,000 FAQs x 20 phrasings of random unit vectors (d=384, fixed
seed) it times, per question, the bare ``M @ q`` (the floor of any exact scan), the answer
path with the fixed floor (no calibration: the FAQ score against ``ANSWER_MIN_SCORE``),
and with the learned decision; then ``learn`` plus the
build warnings, against embedding the same 20,000 phrasings with the local embedder
(timed on ``--embed-sample`` of them and scaled, since embedding all takes minutes)::

    .venv/bin/python benchmarks/decision_speed.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from bot.config import Settings
from bot.faq.advice import faq_warnings
from bot.faq.answerer import Answerer
from bot.faq.calibration import learn
from bot.faq.dataset import assemble
from bot.faq.embedders.local import LocalEmbedder
from bot.faq.sources import FaqRow

FAQS, PHRASINGS, DIM = 1000, 20, 384


class Synthetic:
    model_id = "synthetic"
    dim = DIM


def median_ms(func: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--embed-sample", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(FAQS, 1, DIM))
    vectors = centres + rng.normal(size=(FAQS, PHRASINGS, DIM))
    vectors = (vectors / np.linalg.norm(vectors, axis=2, keepdims=True)).astype(np.float32)
    rows = [FaqRow(id=f"faq-{i}", question=f"Question {i}?", answer="…", url="",
                   alternates=tuple(f"Question {i}, phrased {j}" for j in range(1, PHRASINGS)),
                   category="") for i in range(FAQS)]
    faq = assemble(rows, list(vectors), Synthetic(), "synthetic")

    start = time.perf_counter()
    calibration = learn(faq.index.matrix, faq.phrase_rows, [r.id for r in rows])
    warnings = faq_warnings(rows, faq.mean_directions)
    learn_s = time.perf_counter() - start

    plain = Answerer(faq=replace(faq, calibration=None), embedder=Synthetic(),
                     min_score=0.5, margin=0.035)
    learned = Answerer(faq=replace(faq, calibration=calibration), embedder=Synthetic(),
                       min_score=0.5, margin=0.035)
    queries = [v / np.linalg.norm(v) for v in vectors[:, 0] + rng.normal(size=(FAQS, DIM))]
    queries = [q.astype(np.float32) for q in queries]
    q = iter(queries * (1 + 3 * args.repeats // FAQS))
    matrix = faq.index.matrix
    floor = median_ms(lambda: matrix @ next(q), args.repeats)
    plain.answer_vector(queries[0]), learned.answer_vector(queries[0])  # caches warm
    cosine = median_ms(lambda: plain.answer_vector(next(q)), args.repeats)
    decided = median_ms(lambda: learned.answer_vector(next(q)), args.repeats)

    settings = Settings.from_env()
    embedder = LocalEmbedder(model_id=settings.embedding_model,
                             model_dir=settings.embedding_model_dir, token=settings.hf_token)
    texts = [f"how do I change setting number {i} on my account before {i % 12} pm"
             for i in range(args.embed_sample)]
    embedder.embed(texts[:8])  # load the model
    start = time.perf_counter()
    for lo in range(0, len(texts), 32):
        embedder.embed(texts[lo:lo + 32])
    embed_s = (time.perf_counter() - start) * FAQS * PHRASINGS / len(texts)

    print(f"{FAQS} FAQs x {PHRASINGS} phrasings, d={DIM}; {len(warnings)} warnings")
    print("| step | time | ratio |")
    print("|---|---|---|")
    print(f"| M @ q | {floor:.3f} ms | 1.00x |")
    print(f"| answer, fixed floor | {cosine:.3f} ms | {cosine / floor:.2f}x |")
    print(f"| answer, learned decision | {decided:.3f} ms | {decided / floor:.2f}x "
          f"(+{decided - cosine:.3f} ms over the fixed floor) |")
    print(f"| embed {FAQS * PHRASINGS} phrasings (from {len(texts)}) | {embed_s:.1f} s | 1.00x |")
    print(f"| learn + build warnings | {learn_s:.2f} s | {learn_s / embed_s:.3f}x of embedding |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
