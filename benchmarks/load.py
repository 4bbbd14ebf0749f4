"""Load test for ``faqbot serve``: signed channel questions at a fixed rate, replies timed.

A script, not a test. It starts the real server (``faqbot serve --port 0``, local embedder,
bundled sample) against the recording Slack stand-in, then sends Events API ``message``
events, signed as Slack signs them, on a fixed open-loop schedule (a slow server does not
slow the sender down). For each question it measures:

- ack: request sent → HTTP response received (Slack wants it within 3 s; target p99 <= 20 ms);
- reply: request sent → the stand-in receiving the chat.postMessage in that message's thread
  (targets p50 <= 15 ms, p99 <= 50 ms);
- lost (no reply) and duplicated (more than one reply) questions (target 0 / 0);
- server memory: the highest PSS of the gunicorn master plus its worker, sampled every second
  from /proc/<pid>/smaps_rollup (target <= 400 MB).

Every question is unique (FAQ phrasings with varied openings and endings, cycled in an order
longer than the answerer's 1024-entry cache, so each one is embedded), and is first checked
in-process to be one the bot answers, so "lost" means a reply the bot owed.

The sender, the stand-in and the server share this machine's cores: the numbers include
that contention.

Run from the repository root::

    PYTHONPATH=. python benchmarks/load.py                      # 50 events/s for 60 s
    PYTHONPATH=. python benchmarks/load.py --rate 100 --duration 30
    PYTHONPATH=. python benchmarks/load.py --find-max --duration 20   # step the rate up
    PYTHONPATH=. python benchmarks/load.py --database-url postgresql://user:pass@host/db

The server claims and logs every message in its store: by default (no --database-url,
DATABASE_URL unset) a SQLite file in a temporary working directory, deleted afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bot.storage.url import DEFAULT_SQLITE_FILE, parse_url, redact
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import SlackStandIn, event_body, signed_headers

SECRET = "load-test-signing-secret"
TOKEN = "xoxb-load-test"
CHANNEL = "CLOAD"
TARGETS = {"ack_p99": 20.0, "reply_p50": 15.0, "reply_p99": 50.0, "pss_mb": 400.0}
OPENINGS = ["", "hi all, ", "quick question: ", "does anyone know ", "sorry if this is dumb, ",
            "hey team, ", "help: ", "question for HR: ", "asking for my dad: ", "um, "]
ENDINGS = ["", "?", " thanks!", " anyone?", " 🙏", " (asking again)", " please", " :)"]
SENDERS = 64  # concurrent requests in flight, at most
MAX_QUESTIONS = 3200  # 64 s at 50/s without a repeat; cycled, still 3x the answerer's cache


def candidate_questions() -> list[str]:
    """Unique variations on every FAQ phrasing, interleaved so neighbours differ."""
    from bot.config import Settings
    from bot.faq.dataset import load_faq
    from bot.faq.embedders import create_embedder

    settings = Settings.from_env({"EMBEDDING_BACKEND": "local"})
    faq = load_faq(settings.faq_dataset, create_embedder(settings))
    phrasings = [p for row in faq.rows for p in row.phrasings]
    combos = itertools.islice(itertools.product(ENDINGS, OPENINGS, phrasings), MAX_QUESTIONS)
    return [f"{opening}{phrasing}{ending}" for ending, opening, phrasing in combos]


def _answered() -> list[str]:
    from bot.config import Settings
    from bot.faq.answerer import load_answerer
    from bot.faq.policy import Decision

    answerer = load_answerer(Settings.from_env({"EMBEDDING_BACKEND": "local"}))
    # top-level channel messages get the stricter channel point: those it leaves silent
    # owe no reply
    return [q for q in candidate_questions()
            if answerer.ask(q).channel_decision != Decision.NONE]


def answered_questions() -> list[str]:
    """The candidates the bot answers in a channel, checked once in a child process, so
    this one (the sender and the stand-in) stays small and its timings free of GC pauses."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(_answered).result()


def pss_mb(root: int) -> float:
    """PSS of ``root`` and all its descendants, in MB."""
    total_kb, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            for task in Path(f"/proc/{pid}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        total_kb += next(int(line.split()[1]) for line in rollup.splitlines()
                         if line.startswith("Pss:"))
    return total_kb / 1024


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


@dataclass
class Step:
    rate: float
    duration: float
    sent: dict[str, float] = field(default_factory=dict)  # ts → monotonic send time
    acks: list[float] = field(default_factory=list)  # ms
    bad_acks: int = 0
    late_sends: int = 0  # sends that started > 5 ms after their slot (sender overloaded)
    pss_peak: float = 0.0


class Sender:
    """Keeps one keep-alive connection per sender thread, as a busy Slack would."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()

    def post(self, body: bytes) -> int:
        """POST once; a kept-alive connection the server just closed is retried fresh."""
        reused = getattr(self.local, "connection", None) is not None
        try:
            return self._post(body)
        except (OSError, http.client.HTTPException):
            self.local.connection.close()
            self.local.connection = None
            if not reused:
                raise
        return self._post(body)

    def _post(self, body: bytes) -> int:
        if getattr(self.local, "connection", None) is None:
            self.local.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                               timeout=10)
        connection = self.local.connection
        connection.request("POST", "/slack/events", body, signed_headers(body, SECRET))
        response = connection.getresponse()
        response.read()
        return response.status


def run_step(server: ServerProcess, standin: SlackStandIn, questions: Iterator[str],
             stamps: Iterator[int], rate: float, duration: float) -> Step:
    step = Step(rate, duration)
    sender = Sender(server.port)
    lock = threading.Lock()
    stop_sampling = threading.Event()

    def sample_memory() -> None:
        assert server.proc is not None
        while not stop_sampling.wait(1.0):
            step.pss_peak = max(step.pss_peak, pss_mb(server.proc.pid))

    def send(ts: str, text: str, slot: float) -> None:
        body = event_body({"type": "message", "channel": CHANNEL, "user": "U1", "text": text,
                           "ts": ts, "channel_type": "channel"})
        started = time.monotonic()
        try:
            status = sender.post(body)
        except (OSError, http.client.HTTPException):
            status = 0
        ack = (time.monotonic() - started) * 1000
        with lock:
            step.sent[ts] = started
            step.late_sends += started - slot > 0.005
            if status == 200:
                step.acks.append(ack)
            else:
                step.bad_acks += 1

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    total = int(rate * duration)
    with ThreadPoolExecutor(SENDERS) as pool:
        start = time.monotonic() + 0.1
        for n in range(total):
            slot = start + n / rate
            delay = slot - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            n_ts = next(stamps)
            pool.submit(send, f"{1_700_000_000 + n_ts}.{n_ts % 1_000_000:06d}",
                        next(questions), slot)
    expected = len(step.sent)
    with contextlib.suppress(AssertionError):  # lost replies are counted in report()
        standin.wait_for("chat.postMessage", expected, timeout=30)
    stop_sampling.set()
    sampler.join()
    return step


def report(step: Step, standin: SlackStandIn) -> dict[str, float]:
    replies: dict[str, list[float]] = {}
    for call in standin.calls("chat.postMessage"):
        replies.setdefault(str(call.params.get("thread_ts")), []).append(call.time)
    latencies = [(min(replies[ts]) - sent) * 1000 for ts, sent in step.sent.items()
                 if ts in replies]
    result = {
        "rate": step.rate,
        "sent": len(step.sent),
        "ack_p50": percentile(step.acks, 50),
        "ack_p99": percentile(step.acks, 99),
        "bad_acks": step.bad_acks,
        "reply_p50": percentile(latencies, 50),
        "reply_p99": percentile(latencies, 99),
        "reply_max": max(latencies, default=float("nan")),
        "lost": sum(ts not in replies for ts in step.sent),
        "duplicated": sum(len(replies.get(ts, [])) > 1 for ts in step.sent),
        "pss_mb": step.pss_peak,
        "late_sends": step.late_sends,
    }
    result["pass"] = float(
        result["ack_p99"] <= TARGETS["ack_p99"] and result["reply_p50"] <= TARGETS["reply_p50"]
        and result["reply_p99"] <= TARGETS["reply_p99"] and result["pss_mb"] <= TARGETS["pss_mb"]
        and result["lost"] == result["duplicated"] == result["bad_acks"] == 0)
    return result


def print_row(result: dict[str, float]) -> None:
    print(f"{result['rate']:>6.0f}/s {result['sent']:>6.0f} sent | ack p50 {result['ack_p50']:6.1f}"
          f" p99 {result['ack_p99']:6.1f} ms | reply p50 {result['reply_p50']:6.1f}"
          f" p99 {result['reply_p99']:6.1f} max {result['reply_max']:7.1f} ms | lost"
          f" {result['lost']:.0f} dup {result['duplicated']:.0f} bad-ack {result['bad_acks']:.0f}"
          f" | PSS {result['pss_mb']:5.0f} MB | late sends {result['late_sends']:.0f}"
          f" | {'PASS' if result['pass'] else 'miss'}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="events per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per rate")
    parser.add_argument("--find-max", action="store_true",
                        help="step the rate up from --rate until a target is missed")
    parser.add_argument("--step", type=float, default=25.0, help="rate increment for --find-max")
    parser.add_argument("--json", action="store_true", help="also print results as JSON")
    parser.add_argument("--database-url", default="",
                        help="the server's DATABASE_URL (default: unset, so SQLite in a "
                             "temporary working directory)")
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores; targets: {TARGETS}; lost = duplicated = 0",
          flush=True)
    questions = answered_questions()
    print(f"{len(questions)} distinct questions the bot answers", flush=True)
    stream = itertools.cycle(questions)
    stamps = itertools.count(1)
    results = []
    with SlackStandIn() as standin, tempfile.TemporaryDirectory() as cwd:
        # Without --database-url, a SQLite file of the run's own (never the user's default).
        database_url = args.database_url or f"sqlite:///{Path(cwd) / DEFAULT_SQLITE_FILE}"
        env = {"SLACK_API_URL": standin.api_url, "SLACK_BOT_TOKEN": TOKEN,
               "SLACK_SIGNING_SECRET": SECRET, "EMBEDDING_BACKEND": "local",
               "FAQ_DATASET": "", "FAQ_CHANNELS": "", "PORT": "",
               "DATABASE_URL": database_url}
        print(f"store: {redact(parse_url(database_url))}", flush=True)
        with ServerProcess(env, cwd=cwd) as server:
            server.wait_healthy()
            run_step(server, standin, stream, stamps, rate=20, duration=3)  # warm up
            rate = args.rate
            while True:
                standin.reset()
                result = report(run_step(server, standin, stream, stamps, rate, args.duration),
                                standin)
                results.append(result)
                print_row(result)
                if not args.find_max or not result["pass"]:
                    break
                rate += args.step
            if "cannot use the database" in server.log:
                print("warning: the server could not use the store; claims fell back to the "
                      "process", flush=True)
    if args.find_max:
        passing = [r["rate"] for r in results if r["pass"]]
        print(f"highest rate meeting every target: {max(passing) if passing else 'none'}/s")
    if args.json:
        print(json.dumps(results))
    return 0 if results and results[0]["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
