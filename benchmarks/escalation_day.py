"""A scripted day of questions with Ask a person: how many end without one, how fast a person
answers, and what an escalation costs the store against logging a question.

A script, not a test. For each labelled set (the Medicare sample's ``eval.csv`` and
``holdout.csv``; BANKING77 from ``--datasets`` as the FAQ a team would write, K=5 alternates,
every 4th intent held out so its questions are off-topic, as its README says), it replays
the set's questions, shuffled, through the real engine (an ``Answerer`` on the FAQ with the
thresholds learned from its alternates, as ``faqbot build`` ships them) into a real
``Store`` (SQLite in a temporary folder). Every question is asked directly (a mention, DM or
``/faq``): the worst case for the experts, since a channel question the bot misses stays
silent. A question the bot misses (the right FAQ neither shown nor among the "Maybe one of
these?" a miss offers; an off-topic question always) is escalated by its asker, and then, on
a simulated clock the store itself stamps with:

- questions arrive uniformly over an 8-hour working day (09:00 to 17:00 UTC);
- the asker clicks Ask a person 0.5 to 3 minutes after the reply (uniform);
- an expert replies after a lognormal delay, median 20 minutes, sigma 0.9 (p90 about
  63 minutes), counted in working time: whatever is left at 17:30 waits for 09:00 the
  next day; 70 % of escalations are claimed first, after a uniform 10 to 90 % of that delay;
- one reminder is owed ``ESCALATION_REMIND_MINUTES`` (60) after the escalation when no one
  replied by then, found with ``Store.escalations_due`` as the bot finds it;
- 90 % are resolved after the reply, lognormal median 5 minutes, sigma 1; the rest stay
  open (forgotten), as some do.

The seed (``--seed``, default 18) fixes every draw. It prints, per set, the escalations
(and in brackets how many there would be without "Maybe one of these?"), the self-service
rate and the medians as ``faqbot report`` computes them (the same function, over the
store's rows), the time to a human answer (median and p90), escalations per 100
questions, reminders, and what Ask a person costs: the store time of one escalation
(``escalate`` + ``placed`` + ``answered`` + ``resolve``) as a ratio of one
``Store.log_question`` timed in the same run. Ratios, no timed asserts. Embeddings are
cached as in ``quality.py``::

    nice -n 10 .venv/bin/python -m benchmarks.escalation_day [--datasets DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.labelled import ROOT, CachedEmbedder, missing_sets
from benchmarks.quality import LabelledSet, intent_set, medicare_set
from benchmarks.tuned import embedded
from bot.faq.answerer import Answerer
from bot.faq.calibration import learn
from bot.report.summary import escalation_summary
from bot.storage import Store, schema

DAY = datetime(2026, 12, 7)  # a Monday
OPENS, CLOSES = timedelta(hours=9), timedelta(hours=17)  # questions arrive
EXPERTS_LEAVE = timedelta(hours=17, minutes=30)
CLICK_MINUTES = (0.5, 3.0)
REPLY_MEDIAN, REPLY_SIGMA = 20.0, 0.9
CLAIMED_SHARE, CLAIM_AT = 0.7, (0.1, 0.9)
RESOLVED_SHARE, RESOLVE_MEDIAN, RESOLVE_SIGMA = 0.9, 5.0, 1.0
REMIND_MINUTES = 60
EXPERTS = ("U0EXPERT1", "U0EXPERT2", "U0EXPERT3", "U0EXPERT4")
TEAM, CHANNEL = "T0DAY", "C0HELP"


class Clock:
    """The simulated time the store stamps rows with (``bot.storage.schema.utcnow``)."""

    def __init__(self) -> None:
        self.now = DAY + OPENS

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Timings:
    """Seconds spent in the store, per operation, in this run."""

    log_question: list[float] = field(default_factory=list)
    escalation: list[float] = field(default_factory=list)  # per escalation, all four steps
    spent: dict[int, float] = field(default_factory=dict)  # escalation id → so far

    def timed(self, escalation_id: int, work: Callable[[], object]) -> None:
        started = time.perf_counter()
        work()
        self.spent[escalation_id] += time.perf_counter() - started


def working_time(start: datetime, minutes: float) -> datetime:
    """``minutes`` of expert time after ``start``: the part past 17:30 waits for 09:00."""
    at = start + timedelta(minutes=minutes)
    while at > at.replace(hour=0, minute=0, second=0, microsecond=0) + EXPERTS_LEAVE:
        day = at.replace(hour=0, minute=0, second=0, microsecond=0)
        at = day + timedelta(days=1) + OPENS + (at - day - EXPERTS_LEAVE)
    return at


class Day:
    """The day's events in time order: each is (when, sequence, what to do)."""

    def __init__(self, store: Store, clock: Clock, rng: random.Random) -> None:
        self.store, self.clock, self.rng = store, clock, rng
        self.events: list[tuple[datetime, int, Callable[[], None]]] = []
        self.order = itertools.count()
        self.timings = Timings()
        self.reminders = 0

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.events, (when, next(self.order), action))

    def run(self) -> None:
        while self.events:
            when, _, action = heapq.heappop(self.events)
            self.clock.now = when
            action()

    def ask(self, n: int, question: str, answer, missed: bool) -> None:
        ts = f"{1_765_000_000 + n}.000100"
        user = f"U0ASKER{n % 500}"
        started = time.perf_counter()
        self.store.log_question(team=TEAM, channel=CHANNEL, ts=ts, user=user, text=question,
                                answer=answer, latency_ms=5.0, direct=True,
                                reply_ts=f"{1_765_000_000 + n}.000200")
        self.timings.log_question.append(time.perf_counter() - started)
        if missed:
            click = self.rng.uniform(*CLICK_MINUTES)
            self.at(self.clock.now + timedelta(minutes=click),
                    lambda: self.escalate(ts, user, question))

    def escalate(self, ts: str, user: str, question: str) -> None:
        started = time.perf_counter()
        escalation, made = self.store.escalate(
            team=TEAM, channel=CHANNEL, question_key=ts, asker=user, question=question,
            private=False, experts="S0EXPERTS")
        assert made
        eid = escalation.id
        self.timings.spent[eid] = time.perf_counter() - started
        self.timings.timed(eid, lambda: self.store.change_escalation(
            eid, "placed", thread_channel=CHANNEL, thread_ts=ts, post_ts=f"{ts}9",
            permalink=f"https://example.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}"))
        delay = self.rng.lognormvariate(_mu(REPLY_MEDIAN), REPLY_SIGMA)
        expert = self.rng.choice(EXPERTS)
        now = self.clock.now
        if self.rng.random() < CLAIMED_SHARE:
            share = self.rng.uniform(*CLAIM_AT)
            self.at(working_time(now, delay * share),
                    lambda: self.store.change_escalation(eid, "claim", user=expert))
        self.at(working_time(now, delay), lambda: self.reply(eid, expert))
        self.at(now + timedelta(minutes=REMIND_MINUTES), self.remind)

    def reply(self, eid: int, expert: str) -> None:
        self.timings.timed(eid, lambda: self.store.change_escalation(
            eid, "answered", user=expert, text="Here is how: ask the front desk for form B."))
        if self.rng.random() < RESOLVED_SHARE:
            delay = self.rng.lognormvariate(_mu(RESOLVE_MEDIAN), RESOLVE_SIGMA)
            self.at(working_time(self.clock.now, delay), lambda: self.resolve(eid, expert))
        else:  # left open: not a whole escalation's cost
            del self.timings.spent[eid]

    def resolve(self, eid: int, expert: str) -> None:
        self.timings.timed(eid, lambda: self.store.change_escalation(eid, "resolve",
                                                                     user=expert))
        self.timings.escalation.append(self.timings.spent.pop(eid))

    def remind(self) -> None:
        """What the bot's reminder loop does: take each due escalation's one reminder."""
        before = self.clock.now - timedelta(minutes=REMIND_MINUTES)
        for due in self.store.escalations_due(before):
            self.reminders += self.store.change_escalation(due.id, "reminded")


def _mu(median: float) -> float:
    """A lognormal's mu, from the median it should have."""
    return math.log(median)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def replay(labelled: LabelledSet, embedder: CachedEmbedder, folder: Path, seed: int) -> None:
    faq = embedded(labelled.rows, embedder)
    faq = replace(faq, calibration=learn(faq.index.matrix, faq.phrase_rows,
                                         [r.id for r in faq.rows]))
    answerer = Answerer(faq=faq, embedder=embedder)
    vectors = embedder.embed(labelled.questions)
    rng = random.Random(seed)
    order = list(range(len(labelled.questions)))
    rng.shuffle(order)
    arrivals = sorted(rng.uniform(0, (CLOSES - OPENS).total_seconds()) for _ in order)

    clock = Clock()
    schema.utcnow = clock  # the store stamps every row with the simulated time
    store = Store.from_url(f"sqlite:///{folder / (labelled.name.replace(' ', '_') + '.db')}")
    day = Day(store, clock, rng)
    off_topic = on_topic_missed = missed_without_near = 0
    for n, (i, second) in enumerate(zip(order, arrivals, strict=True)):
        question, expected = labelled.questions[i], labelled.expected[i]
        answer = answerer.answer_vector(vectors[i], question=question)
        offered = [hit.row for hit in answer.shown + answer.near]  # near: only on a miss
        missed = expected is None or expected not in offered
        off_topic += expected is None
        on_topic_missed += missed and expected is not None
        missed_without_near += expected is None or expected not in [h.row for h in answer.shown]
        day.at(DAY + OPENS + timedelta(seconds=second),
               lambda n=n, q=question, a=answer, m=missed: day.ask(n, q, a, m))
    day.run()

    escalations = store.escalations() or []
    log = store.log_since(DAY)
    store.close()
    assert log is not None
    summary = escalation_summary(log.questions, escalations)
    to_human = [(e.answered_at - e.at).total_seconds() / 60 for e in escalations
                if e.answered_at is not None]
    asked = len(log.questions)
    per_question = statistics.median(day.timings.log_question)
    per_escalation = statistics.median(day.timings.escalation)
    rate = summary["self_service_rate"]
    print(f"| {labelled.name} | {asked} ({off_topic} off-topic) | {summary['count']} "
          f"({missed_without_near}) "
          f"| {100 * summary['count'] / asked:.1f} | {rate:.1%} "
          f"| {1 - on_topic_missed / (asked - off_topic):.1%} "
          f"| {statistics.median(to_human):.0f} / {percentile(to_human, 0.9):.0f} "
          f"| {summary['median_resolution_minutes']:.0f} | {day.reminders} "
          f"| {len(summary['unresolved'])} | {per_escalation / per_question:.1f}× "
          f"| {per_escalation / per_question * summary['count'] / asked:.2f}× |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets",
                        help="folder holding banking77/ (default ../shared/datasets)")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "faqbot-quality-cache",
                        help="where embeddings are cached as .npy files")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    if (failed := missing_sets(args.datasets, ("banking77",))) is not None:
        return failed
    embedder = CachedEmbedder(args.cache)
    print(f"A working day, every question asked directly, seed {args.seed}. Minutes of "
          "simulated time; store costs as ratios of one log_question in the same run.\n")
    print("| set | questions | escalations (without Maybe one of these?) | per 100 questions "
          "| self-service | self-service, questions the FAQ covers "
          "| human answer median / p90 (min) | resolution median (min) | reminders "
          "| left open | one escalation ÷ one log_question | added per question asked |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for labelled in (medicare_set(), intent_set(args.datasets / "banking77", 5)):
            replay(labelled, embedder, Path(tmp), args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
