"""Benchmark an FAQ editor's App Home: gathering its facts and rendering the view, with
10,000 questions in the log, against reading the log alone.

A script, not a test: it prints a markdown table. A SQLite store is filled with 10,000
logged questions (2,000 distinct texts, three in four unanswered), 200 👎 votes and 50
pending suggestions, all within the last 30 days; the answerer is the bundled sample with
the local ONNX embedder. It times, per App Home open:

- ``read the log``: ``Store.log_since(30 days)`` alone: the floor any Home must pay;
- ``first open``: ``HomeReport.facts()`` + ``home_view`` with an empty vector cache (the
  most asked unanswered texts are embedded, at most ``MAX_TEXTS``);
- ``later opens``: the same once the cache holds them, which is what every open after the
  first costs;

and prints the view's block count and JSON size (Block Kit caps a view at 100 blocks).

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/home_view.py [--opens 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bot.config import Settings
from bot.faq.answerer import VectorCache
from bot.live import Learner, open_live
from bot.report.home import MAX_TEXTS, HomeReport
from bot.slack.home import home_view
from bot.storage import Store, utcnow
from tests.conftest import logged_answer

QUESTIONS = 10_000
DISTINCT = 2_000


def fill(store: Store) -> None:
    for n in range(QUESTIONS):
        decision = "answer" if n % 4 == 0 else "none"
        store.log_question(team="T1", channel="C1", ts=f"1.{n}", user=f"U{n % 300}",
                           text=f"How do I reach the office number {n % DISTINCT}?",
                           answer=logged_answer(decision, ("replacement-card", 0.4)),
                           latency_ms=1.0)
    for n in range(200):
        store.log_vote(team="T1", channel="C1", message_ts=f"2.{n}", user=f"U{n}",
                       faq_id=("replacement-card", "sign-up", "tricare")[n % 3],
                       vote="down" if n % 2 else "up")
    for n in range(50):
        store.confirm_suggestion(team="T1", faq_id="sign-up", text=f"how to join {n}",
                                 user=f"U{n}")


def ms(call: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--opens", type=int, default=20)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="faqbot-home-bench-"))
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{workdir / 'log.sqlite3'}",
                                  "EMBEDDING_BACKEND": "local"})
    live = open_live(settings)
    store = live.store
    fill(store)
    answerer = live.answerer
    home = HomeReport(store=store, answerer=answerer, too_close=Learner(live).too_close)

    def publish() -> dict:
        return home_view(faqs=len(answerer.faq), examples=answerer.faq.examples(5),
                         faq_channels=["CFAQ"], bot_user_id="U0BOT", facts=home.facts())

    read = ms(lambda: store.log_since(utcnow() - timedelta(days=30)), args.opens)
    answerer.cache = VectorCache()
    first = ms(publish, 1)
    later = ms(publish, args.opens)
    view = publish()
    rows = [("read the log (baseline)", read), ("first open (cold cache)", first),
            ("later opens (cached)", later)]
    base = statistics.median(read)
    print(f"{QUESTIONS} logged questions, {DISTINCT} distinct texts, "
          f"at most {MAX_TEXTS} embedded per open\n")
    print("| per App Home open | p50 ms | max ms | × reading the log |")
    print("|---|---:|---:|---:|")
    for name, times in rows:
        print(f"| {name} | {statistics.median(times):.1f} | {max(times):.1f} | "
              f"{statistics.median(times) / base:.1f}× |")
    print(f"\nblocks: {len(view['blocks'])} (Block Kit's cap: 100); "
          f"view JSON: {len(json.dumps(view, ensure_ascii=False)):,} characters")
    store.close()


if __name__ == "__main__":
    main()
