"""Benchmark the LOG_RETENTION_DAYS purge: how fast it erases a large old log, how long it
ever holds the database, and what it does to the replies written meanwhile.

A script, not a test. For SQLite (a temporary file) and PostgreSQL (``--postgres URL``, else
$FAQBOT_TEST_POSTGRES_URL, else a throwaway cluster from .ci/postgres.sh), it fills a fresh
database with ``--rows`` questions 100 days old (and a quarter as many votes and choice
clicks), then:

- times replies (``claim`` + ``log_question`` + ``complete``, one after another, as a
  listener thread does) with nothing else running: the baseline;
- times them again while the housekeeping purge (LOG_RETENTION_DAYS=90) runs in another
  thread of the same process, and prints the ratio to the baseline;
- prints the purge's throughput and its longest batch, against one unbatched purge (every
  step in one transaction, on a second copy of the log): the longest time a reply could
  have waited for the lock without batches;
- times a purge with nothing left to do (the hourly run in the steady state).

Run::

    PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/retention.py [--rows 200000] [--replies 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import create_engine, make_url

from benchmarks.store import ANSWER, QUESTION, percentile, postgres_url
from bot.runtime.housekeeping import Housekeeping
from bot.storage import Store, retention, schema
from bot.storage.url import parse_url

CHUNK = 10_000
RETENTION_DAYS = 90


def fill(url: str, rows: int) -> None:
    """``rows`` questions 100 days old, and rows // 4 votes and choice clicks."""
    Store.from_url(url).close()
    engine = create_engine(parse_url(url))
    at = schema.utcnow() - timedelta(days=100)
    feedback = {"at": at, "team": "T1", "channel": "C1", "user_hash": "u" * 64}
    with engine.begin() as connection:
        for start in range(0, rows, CHUNK):
            numbers = range(start, min(rows, start + CHUNK))
            connection.execute(schema.questions.insert(), [
                {"at": at, "team": "T1", "channel": "C1", "ts": f"{n}.0",
                 "user_hash": "u" * 64, "text": f"{QUESTION} {n}", "text_hash": "h" * 64,
                 "decision": "answer", "direct": n % 2 == 0,
                 "candidates": [{"id": "faq-1", "score": 0.8}], "latency_ms": 5.0,
                 "reply_ts": f"{n}.5"} for n in numbers])
            quarter = [n for n in numbers if n % 4 == 0]
            connection.execute(schema.votes.insert(), [
                {**feedback, "message_ts": f"{n}.5", "faq_id": "faq-1", "vote": "up"}
                for n in quarter])
            connection.execute(schema.choices.insert(), [
                {**feedback, "message_ts": f"{n}.5", "chosen": "faq-1",
                 "shown": ["faq-1", "faq-2"]} for n in quarter])
    engine.dispose()


def time_replies(store: Store, *, count: int | None = None,
                 until: threading.Event | None = None) -> list[float]:
    """Milliseconds per reply's writes: ``count`` of them, or as many as happen before
    ``until`` is set."""
    team, times, n = uuid.uuid4().hex[:8], [], 0
    while (count is not None and n < count) or (until is not None and not until.is_set()):
        ts = f"{1_800_000_000 + n}.000100"
        started = time.perf_counter()
        assert store.claim(team, "C2", ts)
        store.log_question(team=team, channel="C2", ts=ts, user="U1", text=QUESTION,
                           answer=ANSWER, latency_ms=5.0)
        store.complete(team, "C2", ts)
        times.append((time.perf_counter() - started) * 1000)
        n += 1
    return times


def purge_with_housekeeping(store: Store) -> tuple[retention.Purged, float, list[float]]:
    """The purge as a serving process runs it; its wall time and each batch's (seconds)."""
    housekeeping = Housekeeping(store, retention_days=RETENTION_DAYS)
    batches: list[float] = []
    pause = housekeeping._between

    def timed() -> bool:
        batches.append(time.monotonic() - housekeeping._resumed)
        return pause()

    housekeeping._between = timed
    started = time.perf_counter()
    purged = housekeeping.run_once()
    assert purged is not None, "the database was unavailable"
    return purged, time.perf_counter() - started, batches


def unbatched_seconds(url: str, rows: int) -> float:
    """Every step in one transaction over the whole log: what a purge without batches
    holds the database for."""
    store = Store.from_url(url)
    started = time.perf_counter()
    purged = store.purge_log(timedelta(days=RETENTION_DAYS), batch=rows * 2)
    seconds = time.perf_counter() - started
    store.close()
    assert purged is not None and purged.questions == rows
    return seconds


def line(name: str, values: list[float], baseline: list[float] | None = None) -> str:
    p50, p99, worst = percentile(values, 0.5), percentile(values, 0.99), max(values)
    ratio = "" if baseline is None else f"{p50 / percentile(baseline, 0.5):.2f}× / " \
        f"{p99 / percentile(baseline, 0.99):.2f}×"
    return f"| {name} | {len(values)} | {p50:.2f} | {p99:.2f} | {worst:.1f} | {ratio} |"


def bench(name: str, make_url_for: callable, rows: int, replies: int) -> None:
    url, copy = make_url_for(), make_url_for()
    started = time.perf_counter()
    fill(url, rows)
    fill(copy, rows)
    print(f"\n### {name}: {rows} old questions, {rows // 4} votes, {rows // 4} choices "
          f"(filled twice in {time.perf_counter() - started:.1f} s)\n")
    store = Store.from_url(url)
    baseline = time_replies(store, count=replies)
    done = threading.Event()
    result: list[tuple[retention.Purged, float, list[float]]] = []

    def purge() -> None:
        try:
            result.append(purge_with_housekeeping(store))
        finally:
            done.set()

    worker = threading.Thread(target=purge)
    worker.start()
    during = time_replies(store, until=done)
    worker.join()
    purged, wall, batches = result[0]
    idle_started = time.perf_counter()
    assert store.purge_log(timedelta(days=RETENTION_DAYS)).total == 0
    idle_ms = (time.perf_counter() - idle_started) * 1000
    store.close()
    one_statement = unbatched_seconds(copy, rows)

    print("| reply writes (ms) | n | p50 | p99 | max | p50 / p99 vs. no purge |")
    print("|---|---:|---:|---:|---:|---|")
    print(line("no purge running", baseline))
    print(line("while the purge runs", during, baseline))
    busy = sum(batches)
    print(f"\npurge: {purged} in {wall:.1f} s ({purged.total / wall:,.0f} rows/s wall, "
          f"{purged.total / busy:,.0f} rows/s while in a batch; {len(batches)} batches)")
    print(f"longest batch {max(batches) * 1000:.1f} ms, median "
          f"{statistics.median(batches) * 1000:.1f} ms; one unbatched purge holds the database "
          f"{one_statement:.2f} s: {one_statement / max(batches):,.0f}× the longest batch")
    print(f"a purge with nothing left to do: {idle_ms:.1f} ms")


@contextmanager
def postgres_databases(server_url: str) -> Iterator[callable]:
    """A factory of fresh databases on ``server_url``, all dropped afterwards."""
    import psycopg

    made: list[str] = []

    def new() -> str:
        name = f"faqbot_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return make_url(server_url).set(database=name).render_as_string(hide_password=False)

    try:
        yield new
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            for name in made:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--replies", type=int, default=500)
    parser.add_argument("--postgres", default=os.environ.get("FAQBOT_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    print(f"batches of {retention.BATCH_ROWS} rows; reply writes = claim + log_question + "
          "complete, one after another")
    with tempfile.TemporaryDirectory() as tmp, postgres_url(args.postgres) as pg_url:
        files = iter(range(1_000))
        bench("SQLite (WAL, synchronous=NORMAL)",
              lambda: f"sqlite:///{tmp}/bench{next(files)}.sqlite3", args.rows, args.replies)
        if pg_url:
            with postgres_databases(pg_url) as new_database:
                bench("PostgreSQL (local, fsync on)", new_database, args.rows, args.replies)
        else:
            print("\nPostgreSQL skipped: no --postgres URL and no server binaries to start one")


if __name__ == "__main__":
    main()
