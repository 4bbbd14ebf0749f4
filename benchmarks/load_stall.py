"""How long a large FAQ load holds up the rest of the process: a heartbeat's worst delay.

A script, not a test. A watcher thread swaps in a new commit while the server's other
threads keep acking Slack's requests; a C call that holds the GIL for seconds (building
millions of Python floats from an Arrow column, say) stalls every ack for as long. This
writes a 100,000-row dataset in ``faqbot build``'s layout (random unit vectors, one
alternate with its vector per row), then loads it with ``load_faq`` while a heartbeat thread
wakes every 5 ms and records how late it woke. It prints the heartbeat's worst and p99
lateness while idle (the baseline, same run) and during the load, and the load's time.

Run::

    PYTHONPATH=. .venv/bin/python -m benchmarks.load_stall [--rows 100000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

TICK = 0.005
DIM = 384


def write_dataset(directory: Path, rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(9)

    def unit(count: int) -> np.ndarray:
        vectors = rng.standard_normal((count, DIM)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    vectors = pa.FixedSizeListArray.from_arrays(pa.array(unit(rows).ravel()), DIM)
    alternates = pa.ListArray.from_arrays(
        pa.array(np.arange(rows + 1, dtype=np.int32)),
        pa.FixedSizeListArray.from_arrays(pa.array(unit(rows).ravel()), DIM))
    table = pa.table({
        "id": [f"faq-{n}" for n in range(rows)],
        "question": [f"How do I reach office number {n}?" for n in range(rows)],
        "answer": [f"Call extension {n}." for n in range(rows)],
        "url": [""] * rows,
        "alternates": [[f"what is the number of office {n}"] for n in range(rows)],
        "category": [""] * rows,
        "embedding": vectors,
        "alternate_embeddings": alternates,
    })
    (directory / "data").mkdir(parents=True)
    pq.write_table(table, directory / "data" / "train-00000-of-00001.parquet")
    (directory / "README.md").write_text(
        "---\nfaqbot:\n  model: sentence-transformers/all-MiniLM-L6-v2\n"
        f"  dim: {DIM}\n  rows: {rows}\n---\n")


class Heartbeat:
    """A thread waking every ``TICK`` s, recording how late each wake was (ms)."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            due = time.perf_counter() + TICK
            time.sleep(TICK)
            self.late.append((time.perf_counter() - due) * 1000)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def summary(late: list[float]) -> tuple[float, float]:
    return max(late), statistics.quantiles(late, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    from bot.config import Settings
    from bot.faq.dataset import load_faq
    from bot.faq.embedders import create_embedder

    embedder = create_embedder(Settings.from_env({"EMBEDDING_BACKEND": "local"}))
    embedder.embed(["load the model first"])
    with tempfile.TemporaryDirectory(prefix="faqbot-stall-bench-") as tmp:
        write_dataset(Path(tmp), args.rows)
        with Heartbeat() as idle:
            time.sleep(2.0)
        with Heartbeat() as busy:
            started = time.perf_counter()
            faq = load_faq(tmp, embedder)
            seconds = time.perf_counter() - started
    assert len(faq.rows) == args.rows
    idle_max, idle_p99 = summary(idle.late)
    busy_max, busy_p99 = summary(busy.late)
    print(f"load_faq of {args.rows:,} rows (2 phrasings each): {seconds:.1f} s\n")
    print("| heartbeat every 5 ms | worst late ms | p99 late ms |")
    print("|---|---:|---:|")
    print(f"| idle (baseline) | {idle_max:.1f} | {idle_p99:.1f} |")
    print(f"| during the load | {busy_max:.1f} | {busy_p99:.1f} |")
    print(f"\nworst stall during the load: {busy_max / 1000:.2f} s "
          f"({busy_max / max(idle_max, 0.1):.0f}× the idle worst)")


if __name__ == "__main__":
    main()
