"""Benchmark what the store adds to a reply: ``claim`` + ``log_question`` per message.

A script, not a test: it prints a markdown table of p50 / p99 / mean in milliseconds, for
SQLite (a temporary file) and PostgreSQL (``--postgres URL``, else $FAQBOT_TEST_POSTGRES_URL,
else a throwaway cluster from .ci/postgres.sh when the server binaries are installed).
Messages are timed one after another, as one listener thread sees them, after a warm-up.
Targets: SQLite adds <= 2 ms, PostgreSQL <= 5 ms to a reply (p50).

Run::

    PYTHONPATH=. /tmp/venv/bin/python benchmarks/store.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.faq.policy import Answer, Decision, Hit
from bot.storage import Store

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "postgres.sh"
WARM_UP = 100
ANSWER = Answer(decision=Decision.ANSWER, shown=(), candidates=tuple(
    Hit(row=n, id=f"faq-{n}", question="…", answer="…", url="", score=0.8 - n / 20)
    for n in range(5)))
QUESTION = "hey all, i lost my medicare card, how do i get a new one?"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_messages(store: Store, messages: int) -> dict[str, list[float]]:
    team = uuid.uuid4().hex[:8]  # a fresh key space, so every claim is a win, as in production
    times: dict[str, list[float]] = {"claim": [], "log_question": [], "both": []}
    for n in range(WARM_UP + messages):
        ts = f"{1_700_000_000 + n}.000100"
        started = time.perf_counter()
        assert store.claim(team, "C1", ts)
        claimed = time.perf_counter()
        store.log_question(team=team, channel="C1", ts=ts, user="U1", text=QUESTION,
                           answer=ANSWER, latency_ms=5.0)
        logged = time.perf_counter()
        if n >= WARM_UP:
            times["claim"].append((claimed - started) * 1000)
            times["log_question"].append((logged - claimed) * 1000)
            times["both"].append((logged - started) * 1000)
    return times


@contextmanager
def postgres_url(given: str | None) -> Iterator[str | None]:
    if given:
        yield given
        return
    try:
        out = subprocess.run(["bash", str(SCRIPT), "--no-install"], check=True, text=True,
                             capture_output=True, timeout=120).stdout
    except subprocess.CalledProcessError:
        yield None
        return
    exports = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
    try:
        yield exports["FAQBOT_TEST_POSTGRES_URL"]
    finally:
        subprocess.run(["bash", str(SCRIPT), "destroy"], capture_output=True, timeout=60,
                       env={**os.environ, **exports})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--postgres", default=os.environ.get("FAQBOT_TEST_POSTGRES_URL"))
    args = parser.parse_args()

    print(f"{args.messages} messages, one at a time, after {WARM_UP} warm-up; milliseconds\n")
    print("| database | operation | p50 | p99 | mean |")
    print("|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp, postgres_url(args.postgres) as pg_url:
        targets = [("SQLite (WAL, synchronous=NORMAL)", f"sqlite:///{tmp}/bench.sqlite3")]
        if pg_url:
            targets.append(("PostgreSQL (local, fsync on)", pg_url))
        for name, url in targets:
            store = Store.from_url(url)
            times = time_messages(store, args.messages)
            store.close()
            for operation, values in times.items():
                print(f"| {name} | {operation} | {percentile(values, 0.5):.3f} | "
                      f"{percentile(values, 0.99):.3f} | {statistics.fmean(values):.3f} |")
        if not pg_url:
            print("\nPostgreSQL skipped: no --postgres URL and no server binaries to start one")


if __name__ == "__main__":
    main()
