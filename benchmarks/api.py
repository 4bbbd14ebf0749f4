"""Benchmark what InferenceApiEmbedder adds over a bare HTTP call, and what a cache hit costs.

A script, not a test: it prints a markdown table. Against the local inference stand-in
(tests/standins/inference_standin.py) serving a constant vector, so the server's own cost is tiny
and the same for both sides, it times one-question calls:

- ``bare``: ``session.post(url, json=…, timeout=…)`` on a kept-alive requests.Session;
- ``bare + .json()``: the same, plus decoding the answer (the least any client must do);
- ``InferenceApiEmbedder.embed([q])``: tenacity, validation and normalisation included.

Calls alternate between the sides so drift hits both equally. Targets: client overhead
over the bare post <= 1 ms at p50; a cache hit (``Answerer.embed_query`` on a repeated
question) <= 50 µs.

Run::

    PYTHONPATH=. /tmp/venv/bin/python benchmarks/api.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import requests

from bot.config import Settings
from bot.faq.answerer import load_answerer
from bot.faq.embedders.api import LIVE, InferenceApiEmbedder
from tests.standins.inference_standin import InferenceStandIn, hash_embed

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
TOKEN = "hf_benchmark_token"
QUESTION = "How do I get a replacement Medicare card?"
VECTOR = hash_embed([QUESTION])[0]


def constant_embed(texts: list[str]) -> np.ndarray:
    """The cheapest possible server: one precomputed vector per text."""
    return np.broadcast_to(VECTOR, (len(texts), VECTOR.shape[0]))


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def interleaved(calls: dict[str, Callable[[], object]], n: int, warmup: int) -> dict[str, list]:
    """Run each call ``n`` times, round-robin, after ``warmup`` untimed rounds."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(n):
        for name, call in calls.items():
            times[name].append(timed(call))
    return times


def quantile(values: list[float], q: float) -> float:
    return float(np.quantile(values, q))


def per_call(call: Callable[[], object], n: int, repeats: int = 7) -> float:
    """Median over ``repeats`` of the mean time of ``n`` back-to-back calls."""
    means = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(n):
            call()
        means.append((time.perf_counter() - started) / n)
    return statistics.median(means)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per side")
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()

    with InferenceStandIn(constant_embed, token=TOKEN) as server:
        url = server.hf_url.replace("{model}", MODEL)
        session = requests.Session()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        timeout = (LIVE.connect_timeout, LIVE.read_timeout)

        def bare() -> requests.Response:
            return session.post(url, json={"inputs": [QUESTION]}, headers=headers,
                                timeout=timeout)

        embedder = InferenceApiEmbedder(url=server.hf_url, model_id=MODEL, token=TOKEN)
        sides = {"bare post": bare, "bare post + .json()": lambda: bare().json(),
                 "InferenceApiEmbedder.embed": lambda: embedder.embed([QUESTION])}
        times = interleaved(sides, args.calls, args.warmup)

        env = {"EMBEDDING_BACKEND": "api", "HF_TOKEN": TOKEN, "INFERENCE_API_URL": server.hf_url}
        answerer = load_answerer(Settings.from_env(env))
        answerer.embed_query(QUESTION)
        before = server.count()
        hit = per_call(lambda: answerer.embed_query(QUESTION), 100_000)
        cache_get = per_call(lambda: answerer.cache.get(QUESTION), 100_000)
        assert server.count() == before, "a cache hit reached the server"

    print(f"{args.calls} calls per side, interleaved, one question, stand-in on 127.0.0.1\n")
    print("| call | p50 (ms) | p90 (ms) | p99 (ms) |\n|---|---:|---:|---:|")
    for name, values in times.items():
        print(f"| {name} | {quantile(values, 0.5) * 1e3:.3f} | {quantile(values, 0.9) * 1e3:.3f}"
              f" | {quantile(values, 0.99) * 1e3:.3f} |")
    client = quantile(times["InferenceApiEmbedder.embed"], 0.5)
    for base in ("bare post", "bare post + .json()"):
        overhead = (client - quantile(times[base], 0.5)) * 1e3
        print(f"\nclient overhead over {base} at p50: {overhead:.3f} ms (target <= 1 ms)", end="")
    print(f"\n\ncache hit, Answerer.embed_query: {hit * 1e6:.2f} µs (target <= 50 µs)")
    print(f"cache hit, VectorCache.get:      {cache_get * 1e6:.2f} µs")


if __name__ == "__main__":
    main()
