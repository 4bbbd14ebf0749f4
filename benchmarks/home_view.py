"""Benchmark an FAQ editor's App Home: gathering its facts and rendering the view, with
10,000 questions in the log, against reading the log alone; and the same under hostile text.

A script, not a test: it prints a markdown table per case. A SQLite store is filled with
10,000 logged questions (2,000 distinct texts, three in four unanswered), 200 👎 votes and 50
pending suggestions, all within the last 30 days; the answerer is the bundled sample with
the local ONNX embedder. The ``hostile`` case adds 64 unanswered mentions of about 300 long
words each (every one far past the model's 256 tokens, all distinct), the most asked texts.
Each case runs in a process of its own, so its peak memory (``ru_maxrss``) is its own. It
times, per App Home open:

- ``read the log``: ``Store.log_since(30 days)`` alone: the floor any Home must pay;
- ``first open``: ``HomeReport.facts()`` + ``home_view`` with an empty vector cache (the
  most asked unanswered texts are embedded, at most ``MAX_TEXTS``);
- ``later opens``: the same once the cache holds them (after the opens that finish what the
  first open had no time to embed, counted), which is what every open after those costs;

and prints the view's block count and JSON size (Block Kit caps a view at 100 blocks), and
the process's peak memory before and after the first open.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/home_view.py [--opens 20] [--case normal|hostile]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from benchmarks.long_words import long_made_up_words
from bot.config import Settings
from bot.faq.answerer import VectorCache
from bot.live import Learner, open_live
from bot.report.home import MAX_TEXTS, HomeReport
from bot.slack.home import home_view
from bot.storage import Store, utcnow
from tests.conftest import logged_answer

QUESTIONS = 10_000
DISTINCT = 2_000
HOSTILE_MENTIONS = 64
HOSTILE_WORDS = 300


def fill_hostile(store: Store) -> None:
    for n in range(HOSTILE_MENTIONS):
        mention = f"<@U0BOT> {long_made_up_words(random.Random(n), HOSTILE_WORDS)}"
        for asker in range(8):  # 8 times: the most asked texts, so every one is embedded
            store.log_question(team="T1", channel="C1", ts=f"3.{n}.{asker}", user=f"U9{asker}",
                               text=mention,
                               answer=logged_answer("none"), latency_ms=1.0)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


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
    parser.add_argument("--case", choices=("normal", "hostile"))
    args = parser.parse_args()
    if args.case is None:  # each case in a fresh process: its peak memory is its own
        for case in ("normal", "hostile"):
            subprocess.run([sys.executable, "-m", "benchmarks.home_view", "--opens",
                            str(args.opens), "--case", case], check=True)
        return
    run_case(args.case, args.opens)


def run_case(case: str, opens: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="faqbot-home-bench-"))
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{workdir / 'log.sqlite3'}",
                                  "EMBEDDING_BACKEND": "local"})
    live = open_live(settings)
    store = live.store
    fill(store)
    if case == "hostile":
        fill_hostile(store)
    answerer = live.answerer
    home = HomeReport(store=store, answerer=answerer, too_close=Learner(live).too_close)

    def publish() -> dict:
        return home_view(faqs=len(answerer.faq), examples=answerer.faq.examples(5),
                         faq_channels=["CFAQ"], bot_user_id="U0BOT", facts=home.facts())

    read = ms(lambda: store.log_since(utcnow() - timedelta(days=30)), opens)
    answerer.cache = VectorCache()
    answerer.embed_queries(["warm the model up"], cache=VectorCache())
    before = peak_mb()
    first = ms(publish, 1)
    after = peak_mb()
    catching_up = 0  # opens still embedding what the first open had no time for
    while catching_up < 50 and ms(publish, 1)[0] > 3 * statistics.median(read):
        catching_up += 1
    later = ms(publish, opens)
    view = publish()
    rows = [("read the log (baseline)", read), ("first open (cold cache)", first),
            ("later opens (cached)", later)]
    base = statistics.median(read)
    hostile = (f", plus {HOSTILE_MENTIONS} mentions of ~{HOSTILE_WORDS} long words"
               if case == "hostile" else "")
    print(f"\n### {case}: {QUESTIONS} logged questions, {DISTINCT} distinct texts{hostile}, "
          f"at most {MAX_TEXTS} embedded per open\n")
    print("| per App Home open | p50 ms | max ms | × reading the log |")
    print("|---|---:|---:|---:|")
    for name, times in rows:
        print(f"| {name} | {statistics.median(times):.1f} | {max(times):.1f} | "
              f"{statistics.median(times) / base:.1f}× |")
    print(f"\nblocks: {len(view['blocks'])} (Block Kit's cap: 100); "
          f"view JSON: {len(json.dumps(view, ensure_ascii=False)):,} characters")
    print(f"peak memory: {before:.0f} MB before the first open, {after:.0f} MB after "
          f"(+{after - before:.0f} MB); {catching_up} more opens still embedding before "
          "the later opens above", flush=True)
    store.close()


if __name__ == "__main__":
    main()
