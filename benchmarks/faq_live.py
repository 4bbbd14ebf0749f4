"""How fast an FAQ edit reaches a running server, and what reloading costs:
`python -m benchmarks.faq_live [--repeats 5] [--seconds 6] [--no-postgres]`.

A script, not a test. For SQLite (a temporary file) and PostgreSQL (``--postgres URL``, else
$FAQBOT_TEST_POSTGRES_URL, else a throwaway cluster from .ci/postgres.sh when the server
binaries are installed; skipped otherwise) it prints:

1. spread: `faqbot faq add` (the CLI process returning) → the first reply carrying the new
   FAQ from a `faqbot serve` on the same database (its watcher polls every 2 s): median, max;
2. the swap under load (SQLite): reply latency p50/p99 at 50 questions/s on one server,
   quiet, then with an FAQ edit every second, made by the CLI (a process start plus an
   embedding on the same cores) and written straight to the store with its vectors (the
   reload alone), then quiet again; each as a ratio to the first quiet phase. Then the same
   on the sample plus 1,000 synthetic FAQs x 20 phrasings, where a reload costs more;
3. the poll: ``Store.faq_version()`` per call against ``SELECT 1`` through the same store,
   and ``LiveFaq.refresh()`` when nothing changed (and, for scale, after one new edit);
4. the merge: ``bot.faq.edits.merge`` + ``Answerer.swap`` on 1,000 FAQs x 20 phrasings
   (random unit vectors, d=384) with 1 and 100 edits, against one ``M @ q``.

Every ratio is against a baseline measured in the same run: the machine is noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext, suppress
from pathlib import Path

import numpy as np
from sqlalchemy import select

from benchmarks.store import percentile, postgres_url
from bot.faq.answerer import Answerer
from bot.faq.calibration import learn
from bot.faq.dataset import FaqData, assemble
from bot.faq.edits import FaqEdit, merge
from bot.faq.sources import FaqRow
from bot.live import LiveFaq
from bot.live.codec import encode
from bot.storage import Store
from tests.conftest import wait_until
from tests.e2e.conftest import cli, deliver, live_env, message, reply_to
from tests.standins.postgres import PgServer
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import SlackStandIn

FAQS, PHRASINGS, DIM = 1000, 20, 384
RATE = 50  # questions per second
SPREAD_TIMEOUT = 15.0
# New FAQs unlike the bundled Medicare sample and unlike each other; the answer marks the reply.
TOPICS = [
    ("Can I bring my dog to the office?", "Dogs are welcome on Fridays."),
    ("Where can I park my bicycle?", "Bike racks are in the basement, level -1."),
    ("What is the guest wifi password?", "Ask reception for the daily guest code."),
    ("Who waters the office plants?", "The plant rota is on the kitchen board."),
    ("When is the holiday party this year?", "The party is on December 12th at 6 pm."),
    ("How do I book a meeting room?", "Book rooms in the calendar under Resources."),
    ("Is there a gym in the building?", "The gym is on the 3rd floor, open 6 to 22."),
    ("Where is the lost and found box?", "Lost and found is behind the front desk."),
]
# Sample questions the bot answers (the e2e reload test's), asked in turn under load.
QUESTIONS = ["How do I get a replacement Medicare card?", "what is tricare?",
             "how do i sign up for medicare?"]


class NeverEmbeds:
    """An embedder for synthetic FAQs: every edit carries its vectors, so it is never called."""

    model_id = "synthetic"
    dim = DIM

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise AssertionError(f"embedded {len(texts)} texts; every edit should carry vectors")


def unit_vectors(rng: np.random.Generator, *shape: int) -> np.ndarray:
    vectors = rng.normal(size=(*shape, DIM))
    return (vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)).astype(np.float32)


def synthetic_row(faq_id: str, phrasings: int = PHRASINGS) -> FaqRow:
    return FaqRow(id=faq_id, question=f"Question {faq_id}?", answer="…",
                  alternates=tuple(f"Question {faq_id}, phrased {j}" for j in range(1, phrasings)))


def synthetic_base(rng: np.random.Generator) -> FaqData:
    """1,000 FAQs x 20 phrasings of random unit vectors, built as a dataset load builds one."""
    rows = [synthetic_row(f"faq-{i}") for i in range(FAQS)]
    return assemble(rows, list(unit_vectors(rng, FAQS, PHRASINGS)), NeverEmbeds(), "synthetic")


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def median_s(func: Callable[[], object], repeats: int) -> float:
    return statistics.median(timed(func) for _ in range(repeats))


def per_call_us(funcs: dict[str, Callable[[], object]], *, calls: int = 200,
                rounds: int = 10) -> dict[str, float]:
    """µs per call of each function: rounds of ``calls`` calls, interleaved so that drift on
    a noisy machine hits every function alike; the median round counts."""
    rounds_us: dict[str, list[float]] = {name: [] for name in funcs}
    for func in funcs.values():
        func()  # warm: schema, connection pool, compiled statements
    for _ in range(rounds):
        for name, func in funcs.items():
            start = time.perf_counter()
            for _ in range(calls):
                func()
            rounds_us[name].append((time.perf_counter() - start) / calls * 1e6)
    return {name: statistics.median(values) for name, values in rounds_us.items()}


# ------------------------------------------------------------------ 1. spread across processes

def spread(server: ServerProcess, slack: SlackStandIn, url: str, repeats: int) -> list[float]:
    """Seconds from each `faqbot faq add` returning to the server's first reply with it."""
    times = []
    for question, answer in TOPICS[:repeats]:
        cli(url, "faq", "add", "--question", question, "--answer", answer)
        added = time.monotonic()
        while answer not in reply_to(server, slack, question):
            assert time.monotonic() - added < SPREAD_TIMEOUT, f"{question!r} never answered"
        times.append(time.monotonic() - added)
    return times


# ------------------------------------------------------------------ 2. the swap under load

def burst(server: ServerProcess, slack: SlackStandIn, seconds: float) -> tuple[list[float], int]:
    """``RATE`` questions a second for ``seconds``; each reply's latency (question sent →
    the stand-in receiving the reply), and how many questions got no reply."""
    sent: list[tuple[str, float]] = []
    start = time.monotonic()
    for n in range(int(RATE * seconds)):
        time.sleep(max(0.0, start + n / RATE - time.monotonic()))  # pacing the load
        event = message(QUESTIONS[n % len(QUESTIONS)])
        at = time.monotonic()
        assert deliver(server, event) == 200
        sent.append((event["ts"], at))
    first: dict[str, float] = {}

    def all_replied() -> bool:
        for call in slack.calls("chat.postMessage"):
            thread = call.params.get("thread_ts")
            if thread is not None and thread not in first:
                first[thread] = call.time
        return all(ts in first for ts, _ in sent)

    with suppress(AssertionError):  # a question never answered is counted as missing
        wait_until(all_replied, timeout=20, what="every question answered")
    latencies = [first[ts] - at for ts, at in sent if ts in first]
    return latencies, len(sent) - len(latencies)


@contextmanager
def editing(make_edit: Callable[[int], None], every: float = 1.0) -> Iterator[list[int]]:
    """Call ``make_edit(n)`` every ``every`` seconds in a thread (or back to back when an edit
    takes longer) for the duration of the block; yields the count of edits made so far."""
    stop = threading.Event()
    made = [0]

    def run() -> None:
        start = time.monotonic()
        while not stop.is_set():
            make_edit(made[0])
            made[0] += 1
            stop.wait(max(0.0, start + made[0] * every - time.monotonic()))

    thread = threading.Thread(target=run, name="faq-editor", daemon=True)
    thread.start()
    try:
        yield made
    finally:
        stop.set()
        thread.join()


def reloads(server: ServerProcess) -> int:
    return server.log.count("FAQ reloaded")


Phase = tuple[str, list[float], int, int, int]  # name, latencies, missing, edits, reloads


def swap_under_load(server: ServerProcess, slack: SlackStandIn, url: str, seconds: float, *,
                    model_id: str, with_cli: bool) -> list[Phase]:
    """Reply latency quiet, with CLI edits (``with_cli``), and with edits written straight
    to the store (vectors included, so the server only reloads)."""
    store = Store.from_url(url)
    rng = np.random.default_rng(1)

    def by_cli(n: int) -> None:
        cli(url, "faq", "add", "--question", f"Where is meeting room {n}?",
            "--answer", f"Floor {n}.", "--id", f"room-{n}")

    def by_store(n: int) -> None:
        row = FaqRow(id=f"desk-{n}", question=f"Which desk is hot desk {n}?", answer=f"Row {n}.")
        store.save_faq_edit(encode(row, unit_vectors(rng, 1), model_id=model_id,
                                   editor="benchmark"))

    burst(server, slack, 3)  # warm: every question's vector cached, threads up, GC settled
    plan: list[tuple[str, Callable[[int], None] | None]] = [("quiet (no edits)", None)]
    if with_cli:
        plan.append(("an edit/s by the CLI", by_cli))
    plan.append(("an edit/s to the store", by_store))
    plan.append(("quiet again", None))  # after the edits: drift, or a backlog draining
    phases: list[Phase] = []
    for name, make_edit in plan:
        before = reloads(server)
        if make_edit is None:
            latencies, missing = burst(server, slack, seconds)
            made = 0
        else:
            with editing(make_edit) as count:
                latencies, missing = burst(server, slack, seconds)
            made = count[0]
        phases.append((name, latencies, missing, made, reloads(server) - before))
    store.close()
    return phases


def cli_model_id(url: str) -> str:
    """The model the CLI embedded its edits with: the servers' model."""
    store = Store.from_url(url)
    try:
        return (store.faq_edits() or [])[0].model_id
    finally:
        store.close()


def print_phases(dataset: str, phases: list[Phase]) -> None:
    """One row per phase; ratios are to the first (quiet) phase."""
    quiet = phases[0][1]
    q50, q99 = percentile(quiet, 0.5), percentile(quiet, 0.99)
    for name, latencies, missing, made, swapped in phases:
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        print(f"| {dataset} | {name} | {made} | {swapped} | {len(latencies)} | {missing} | "
              f"{p50 * 1000:.1f} | {p99 * 1000:.1f} | {p50 / q50:.2f}x | {p99 / q99:.2f}x |",
              flush=True)


def big_dataset(out: Path) -> tuple[str, int]:
    """The bundled sample plus 1,000 synthetic FAQs x 20 phrasings (random unit vectors),
    written in `faqbot build`'s layout to ``out``: the sample's questions still answer, and
    every reload merges (and relearns over) 20,000 phrasings. Returns the model id and the
    FAQ count."""
    from bot.config import Settings
    from bot.faq.answerer import load_answerer
    from bot.faq.dataset import prepare_out, write_dataset

    sample = load_answerer(Settings.from_env({"EMBEDDING_BACKEND": "local"})).faq
    rng = np.random.default_rng(4)
    rows = sample.rows + [synthetic_row(f"filler-{i}") for i in range(FAQS)]
    blocks = [sample.vectors(n) for n in range(len(sample))]
    blocks += list(unit_vectors(rng, FAQS, PHRASINGS))

    class Model:
        model_id = sample.model_id
        dim = sample.index.dim

    prepare_out(out)
    write_dataset(out, assemble(rows, blocks, Model(), "benchmark"))
    return sample.model_id, len(rows)


# ------------------------------------------------------------------ 3. the poll

def poll_costs(name: str, url: str, base: FaqData) -> None:
    """Print the change poll's cost per call, and a refresh with and without a change."""
    store = Store.from_url(url)
    live = LiveFaq(Answerer(faq=base, embedder=NeverEmbeds(), min_score=0.5, margin=0.035),
                   store)
    live.refresh()  # the first merge, as at startup
    # SELECT 1 through the same transaction path faq_version takes (Store._attempt), so the
    # difference is the counter's statement and its one-row read.
    costs = per_call_us({
        "SELECT 1": lambda: store._attempt(lambda c: c.scalar(select(1))),
        "faq_version()": store.faq_version,
        "refresh(), nothing changed": live.refresh,
    })
    rng = np.random.default_rng(2)

    def changed(repeats: int = 5) -> float:
        """Median refresh (read every edit, decode, merge, swap) after one new edit."""
        times = []
        for _ in range(repeats):
            store.save_faq_edit(encode(synthetic_row("edited"), unit_vectors(rng, PHRASINGS),
                                       model_id=NeverEmbeds.model_id, editor="benchmark"))
            start = time.perf_counter()
            swapped = live.refresh()
            times.append(time.perf_counter() - start)
            assert swapped, "the edit was not merged"
        return statistics.median(times) * 1e6

    costs["refresh() after an edit, 1 stored"] = changed()
    for n in range(99):
        store.save_faq_edit(encode(synthetic_row(f"new-{n}"), unit_vectors(rng, PHRASINGS),
                                   model_id=NeverEmbeds.model_id, editor="benchmark"))
    costs["refresh() after an edit, 100 stored"] = changed()
    store.close()
    floor = costs["SELECT 1"]
    for what, us in costs.items():
        print(f"| {name} | {what} | {us:,.1f} | {us / floor:.2f}x |")


# ------------------------------------------------------------------ 4. the merge

def merge_costs(base: FaqData, repeats: int) -> None:
    """Print merge + swap with 1 and 100 edits against one ``M @ q``."""
    rng = np.random.default_rng(3)
    embedder = NeverEmbeds()
    answerer = Answerer(faq=base, embedder=embedder, min_score=0.5, margin=0.035)

    def edit(faq_id: str) -> FaqEdit:
        return FaqEdit(id=faq_id, row=synthetic_row(faq_id),
                       vectors=unit_vectors(rng, PHRASINGS), model_id=embedder.model_id)

    one = [edit("added-0")]
    hundred = [edit(f"faq-{n * 20}") for n in range(50)] + [edit(f"added-{n}") for n in range(50)]
    matrix = base.index.matrix
    queries = iter(unit_vectors(rng, 3 * repeats * 10))
    floor = median_s(lambda: matrix @ next(queries), repeats * 10)
    rows = [("M @ q (one question's scan)", floor)]
    for label, edits in (("merge + swap, 1 edit (an add)", one),
                         ("merge + swap, 100 edits (50 replace, 50 add)", hundred)):
        answerer.swap(merge(base, edits, embedder))  # warm
        rows.append((label, median_s(lambda e=edits: answerer.swap(merge(base, e, embedder)),
                                     repeats)))
    assert len(answerer.faq) == FAQS + 50
    merged = answerer.faq
    blocks = [merged.vectors(n) for n in range(len(merged))]
    rows.append(("  for scale: assemble alone (stack + normalise)",
                 median_s(lambda: assemble(merged.rows, blocks, embedder, "synthetic"), repeats)))
    ids = [r.id for r in merged.rows]
    rows.append(("  for scale: calibration.learn alone",
                 median_s(lambda: learn(merged.index.matrix, merged.phrase_rows, ids), repeats)))
    print(f"\n4. merge + swap in-process, {FAQS} FAQs x {PHRASINGS} phrasings, d={DIM} "
          f"(median of {repeats})")
    print("| step | ms | ratio to M @ q |")
    print("|---|---:|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds * 1000:.3f} | {seconds / floor:,.0f}x |")


# ------------------------------------------------------------------ main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, choices=range(1, len(TOPICS) + 1),
                        metavar=f"1..{len(TOPICS)}", help="CLI adds timed per database")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each load phase")
    parser.add_argument("--postgres", default=os.environ.get("FAQBOT_TEST_POSTGRES_URL"))
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    no_server: AbstractContextManager[str | None] = nullcontext(None)
    with SlackStandIn() as slack, tempfile.TemporaryDirectory() as tmp, \
            (no_server if args.no_postgres else postgres_url(args.postgres)) as pg_url:
        pg = PgServer(pg_url, None) if pg_url else None
        databases: list[tuple[str, str]] = [("SQLite", f"sqlite:///{tmp}/spread.sqlite3")]
        if pg is not None:
            databases.append(("PostgreSQL", pg.new_database()))
        try:
            run(args, slack, tmp, databases, pg)
        finally:
            if pg is not None:
                for name, url in databases:
                    if name == "PostgreSQL":
                        pg.drop_database(url)
        if pg is None:
            print("\nPostgreSQL skipped: " + ("--no-postgres" if args.no_postgres else
                                              "no --postgres URL, and .ci/postgres.sh could "
                                              "not start a server"))
    print(f"\n(total {time.monotonic() - started:.0f} s)")


def run(args: argparse.Namespace, slack: SlackStandIn, tmp: str,
        databases: list[tuple[str, str]], pg: PgServer | None) -> None:
    print(f"1. `faqbot faq add` returning → first reply with the new FAQ from another "
          f"`faqbot serve` ({args.repeats} adds each; the watcher polls every 2 s)")
    print("| database | median s | max s | each, s |")
    print("|---|---:|---:|---|")
    with ExitStack() as keep:  # the SQLite server stays up for part 2
        sqlite_server = None
        for name, url in databases:
            with ExitStack() as this:
                server = (keep if name == "SQLite" else this).enter_context(
                    ServerProcess(live_env(slack, url), cwd=tmp))
                server.wait_healthy()
                reply_to(server, slack, TOPICS[0][0])  # warm: the first question's embedding
                times = spread(server, slack, url, args.repeats)
                print(f"| {name} | {statistics.median(times):.2f} | {max(times):.2f} | "
                      f"{', '.join(f'{t:.2f}' for t in times)} |", flush=True)
                if name == "SQLite":
                    sqlite_server = server
        assert sqlite_server is not None
        print(f"\n2. reply latency at {RATE} questions/s for {args.seconds:g} s per phase, one "
              f"server, SQLite (ms; ratios to the first quiet phase, same server)")
        print("| dataset | phase | edits | reloads | replies | missing | p50 | p99 | "
              "p50 ratio | p99 ratio |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        print_phases("bundled sample",
                     swap_under_load(sqlite_server, slack, databases[0][1], args.seconds,
                                     model_id=cli_model_id(databases[0][1]),
                                     with_cli=True))
    big_url = f"sqlite:///{tmp}/big.sqlite3"
    model_id, count = big_dataset(Path(tmp) / "big")
    with ServerProcess({**live_env(slack, big_url), "FAQ_DATASET": str(Path(tmp) / "big")},
                       cwd=tmp) as server:
        server.wait_healthy()
        print_phases(f"sample + {FAQS} x {PHRASINGS} synthetic ({count} FAQs)",
                     swap_under_load(server, slack, big_url, args.seconds, model_id=model_id,
                                     with_cli=False))

    print("\n3. the change poll and a refresh, per call (µs; ratio to SELECT 1 on the same store)")
    print("| database | call | µs | ratio |")
    print("|---|---|---:|---:|")
    base = synthetic_base(np.random.default_rng(0))
    poll_targets = [("SQLite", f"sqlite:///{tmp}/poll.sqlite3")]
    if pg is not None:
        poll_targets.append(("PostgreSQL", pg.new_database()))
    try:
        for name, url in poll_targets:
            poll_costs(name, url, base)
    finally:
        if pg is not None and len(poll_targets) > 1:
            pg.drop_database(poll_targets[1][1])
    merge_costs(base, repeats=20)


if __name__ == "__main__":
    main()
