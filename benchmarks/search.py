"""Benchmark FaqIndex.search against its floor and against the usual peers.

A script, not a test: it prints the thread/BLAS settings and a markdown table. For each N it
times, on one matrix of N random unit float32 rows (d=384, fixed seed) and one unit query:

- ``M @ q``: the bare matrix-vector product, the floor of any exact scan;
- ``FaqIndex.search(q[None, :], 5)`` and its ratio to the floor (target: <= 1.3x at N=100k);
- ``sentence_transformers.util.semantic_search`` called with torch tensors as in the HF
  "Getting started with embeddings" tutorial, and its time over FaqIndex's
  (target: >= 10x at N=100k);
- ``faiss.IndexFlatIP`` with k=5, for reference.

Peers that are not importable are reported as "skipped (not installed)". FaqIndex's top-5 rows
are asserted equal to a full argsort's, so a wrong index fails the run. Each time is the median
of at least --repeats batches, adapted so one measurement takes about --budget seconds.

Run (the peers live in their own venv, see the ``bench`` extra in pyproject.toml)::

    python3 -m venv /tmp/benchvenv
    /tmp/benchvenv/bin/pip install torch==2.13.0  # first: the CPU build on disk, not CUDA
    /tmp/benchvenv/bin/pip install numpy torch==2.13.0 sentence-transformers faiss-cpu psutil
    PYTHONPATH=. /tmp/benchvenv/bin/python benchmarks/search.py [--sizes 100000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.faq.index import FaqIndex

DIM = 384
K = 5
SEED = 20240607
DEFAULT_SIZES = (13, 1_000, 10_000, 100_000, 1_000_000)
ENV_VARS = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)

try:
    import torch
    from sentence_transformers.util import semantic_search
except ImportError:
    torch = None
    semantic_search = None
try:
    import faiss
except ImportError:
    faiss = None
try:
    import psutil
except ImportError:
    psutil = None


@dataclass
class Row:
    n: int
    floor: float
    index: float
    semantic: float | None
    faiss: float | None
    others: float | None  # CPU that other processes used meanwhile, in cores


def cpu_busy() -> tuple[float, float, float] | None:
    """(wall, whole machine's busy CPU, this process's CPU) in seconds, if psutil is there."""
    if psutil is None:
        return None
    machine, own = psutil.cpu_times(), psutil.Process().cpu_times()
    idle = machine.idle + getattr(machine, "iowait", 0.0)
    return time.monotonic(), sum(machine) - idle, own.user + own.system


def median_seconds(fns: list[Callable[[], Any]], min_repeats: int, budget: float) -> list[float]:
    """Median per-call time of each of ``fns``, timed in interleaved batches.

    Tiny calls are batched (~1 ms a batch) so timer overhead vanishes; there are at least
    ``min_repeats`` batches of each, and about ``budget`` seconds per function. Interleaving
    makes a slow drift in machine load hit every function alike, so their ratio stays fair.
    """
    ones = []
    for fn in fns:
        for _ in range(2):
            fn()
        ones.append(max(1e-9, min(_timed(fn, 1) for _ in range(3))))
    inners = [max(1, int(1e-3 / one)) for one in ones]
    slowest = max(inner * one for inner, one in zip(inners, ones, strict=True))
    batches = max(min_repeats, int(budget / slowest))
    samples: list[list[float]] = [[] for _ in fns]
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(batches):
            for fn, inner, times in zip(fns, inners, samples, strict=True):
                times.append(_timed(fn, inner))
    finally:
        if gc_was_enabled:
            gc.enable()
    return [statistics.median(times) for times in samples]


def _timed(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    rows = rng.standard_normal((n, DIM), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def bench_size(n: int, min_repeats: int, budget: float) -> Row:
    before = cpu_busy()
    rng = np.random.default_rng(SEED)
    matrix = unit_rows(rng, n)
    q = unit_rows(rng, 1)[0]
    index = FaqIndex(matrix, normalized=True)  # shares ``matrix``: both scan the same memory
    assert index.matrix is matrix

    expected = np.argsort(-(matrix @ q), kind="stable")[:K]
    _, rows = index.search(q[None, :], K)
    assert np.array_equal(rows[0], expected), f"N={n}: FaqIndex {rows[0]} != argsort {expected}"

    floor, searched = median_seconds(
        [lambda: matrix @ q, lambda: index.search(q[None, :], K)], min_repeats, budget
    )

    semantic = None
    if semantic_search is not None and torch is not None:
        corpus_t, query_t = torch.from_numpy(matrix), torch.from_numpy(q[None, :])
        hits = semantic_search(query_t, corpus_t, top_k=K)[0]
        _warn_if_differs("semantic_search", n, [h["corpus_id"] for h in hits], expected)
        (semantic,) = median_seconds(
            [lambda: semantic_search(query_t, corpus_t, top_k=K)], min_repeats, budget
        )

    flat = None
    if faiss is not None:
        faiss_index = faiss.IndexFlatIP(DIM)
        faiss_index.add(matrix)
        _warn_if_differs("faiss", n, faiss_index.search(q[None, :], K)[1][0], expected)
        (flat,) = median_seconds([lambda: faiss_index.search(q[None, :], K)], min_repeats, budget)

    after, others = cpu_busy(), None
    if before is not None and after is not None:
        others = ((after[1] - before[1]) - (after[2] - before[2])) / (after[0] - before[0])
    return Row(n, floor, searched, semantic, flat, others)


def _warn_if_differs(name: str, n: int, got: Any, expected: np.ndarray) -> None:
    if list(map(int, got)) != expected.tolist():
        print(f"warning: N={n}: {name} top-{K} {list(got)} != argsort {expected}", file=sys.stderr)


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "skipped (not installed)"
    value = seconds * 1e3
    return f"{value:.4f}" if value < 1 else f"{value:.3f}" if value < 100 else f"{value:.1f}"


def print_settings() -> None:
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, cpus {os.cpu_count()}")
    if torch is not None:
        print(f"torch {torch.__version__}: {torch.get_num_threads()} threads")
    if faiss is not None:
        print(f"faiss {faiss.__version__}: {faiss.omp_get_max_threads()} OpenMP threads")
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            parts = Path(pool["filepath"]).parts
            owner = parts[parts.index("site-packages") + 1] if "site-packages" in parts else "?"
            what = [pool["prefix"], pool.get("version"), pool.get("architecture")]
            print(
                f"threadpool {' '.join(w for w in what if w)}: "
                f"{pool['num_threads']} threads (loaded by {owner})"
            )
    except ImportError:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        print(f"numpy BLAS: {blas.get('name')} {blas.get('version')} (threadpoolctl not installed)")
    for var in ENV_VARS:
        if var in os.environ:
            print(f"{var}={os.environ[var]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--repeats", type=int, default=20, help="minimum batches per timing")
    parser.add_argument("--budget", type=float, default=0.75, help="seconds per timing")
    args = parser.parse_args(argv)

    print_settings()
    print()
    print(
        "| N | M@q (ms) | FaqIndex (ms) | ratio to M@q | semantic_search (ms) "
        "| speed-up vs semantic_search | faiss (ms) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    notes = []
    for n in args.sizes:
        row = bench_size(n, args.repeats, args.budget)
        gc.collect()  # the matrix, tensors and faiss copy die with bench_size's frame
        if row.others is not None and row.others > 0.1:
            notes.append(f"N={n:,}: other processes used {row.others:.2f} of a core meanwhile")
        speedup = "-" if row.semantic is None else f"{row.semantic / row.index:.1f}x"
        print(
            f"| {row.n:,} | {ms(row.floor)} | {ms(row.index)} | {row.index / row.floor:.2f}x "
            f"| {ms(row.semantic)} | {speedup} | {ms(row.faiss)} |",
            flush=True,
        )
    print("\ntargets at N=100,000: FaqIndex <= 1.3x M@q; semantic_search >= 10x FaqIndex")
    if psutil is None:
        print("psutil not installed: load from other processes not checked")
    for note in notes:
        print(f"noisy: {note}; the times may be inflated, run again on a quiet machine")


if __name__ == "__main__":
    main()
