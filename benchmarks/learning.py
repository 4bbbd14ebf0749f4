"""The proof that faqbot learns phrasings from use: `python -m benchmarks.learning`.

A script, not a test. BANKING77 (``DATASETS``, default ``../shared/datasets``) becomes the FAQ
a team writes on day one: one FAQ per intent, its first training utterance as the question,
no alternates. Other training utterances (shuffled with a fixed seed) are then asked by
simulated users through the code the bot runs: ``Answerer.ask``, ``Store.log_question`` with
the reply's ts, and ``Learner.confirmed`` when the asker votes 👍 on a right answer, clicks
the right one among the next closest FAQs the bot offers after a 👎 on a wrong one, or clicks
the right one of the choices, over a real SQLite ``Store`` and a ``LiveFaq``. Two modes:

- ``auto``: ``FAQ_AUTO_LEARN=1``, so ``Learner(live, auto_accept=1)``;
- ``manual``: ``Learner(live, auto_accept=0)``; at each checkpoint an editor accepts every
  pending suggestion (``Learner.accept``; the ones refused with a ``UserError`` are counted).

After 0, 100, 300 and 1,000 questions asked, shown recall and single-answer accuracy are
measured on the whole test split (every intent is in the FAQ here). For scale, the same FAQ
written by hand with 20 alternates per intent: calibrated as ``faqbot build`` does, and with
the fixed defaults (``ANSWER_MIN_SCORE``/``ANSWER_MARGIN``, no calibration); and the ceiling
of learning from what the bot shows (``ceiling``).

With ``--tuned``, the FAQ as learned by 300 and 1,000 questions is also tuned in, as
``faqbot tune`` does (the model tuned to its phrasings, learned ones included; thresholds
cross-fitted, see ``bot.faq.tune.crossfit``) and measured the same way. Tuned models are
kept under ``--cache`` (``benchmarks.tuned``).

Texts are embedded once with the local embedder (all-MiniLM-L6-v2) and cached as one .npy
file under ``--cache`` (default: a folder in the system temp dir); the embedder the bot code
gets answers those texts from memory and embeds any other text with the real model::

    .venv/bin/python -m benchmarks.learning [--datasets ../shared/datasets] [--cache DIR]
    nice -n 10 .venv/bin/python -m benchmarks.learning --tuned
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from benchmarks.labelled import arguments, cached_vectors, missing_sets, percent, read_csv
from bot.config import DEFAULT_MARGIN, DEFAULT_MIN_SCORE
from bot.errors import UserError
from bot.faq.answerer import Answerer, top_rows
from bot.faq.calibration import learn
from bot.faq.dataset import FaqData, assemble
from bot.faq.embedders.local import LocalEmbedder
from bot.faq.policy import Decision
from bot.faq.sources import FaqRow
from bot.live.faq import LiveFaq
from bot.live.learning import Learner
from bot.storage import PENDING, Store

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
SEED = 77
CHECKPOINTS = (0, 100, 300, 1000)
TUNED_AT = (300, 1000)
CEILING_DEPTHS = (3, 10)
HAND_ALTERNATES = 20
TEAM, CHANNEL = "T0BENCH", "C0BENCH"
FIRST_TS = 1_700_000_000
# The target after 1,000 questions: single answer up by this much, shown recall at least.
TARGET_GAIN = 0.20
TARGET_SHOWN = 0.85


def clean(text: str) -> str:
    """A question as the engine sees it (``clean_question`` without the cap)."""
    return " ".join(text.split())


class KnownEmbedder:
    """The local embedder; texts embedded in advance are answered from memory."""

    def __init__(self, inner: LocalEmbedder, known: dict[str, np.ndarray]) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.known = known
        self.misses = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self.known]
        if missing:
            self.misses += len(missing)
            for text, vector in zip(missing, self.inner.embed(missing), strict=True):
                self.known[text] = vector
        return np.stack([self.known[t] for t in texts]).astype(np.float32)


def embed_cached(inner: LocalEmbedder, texts: list[str], cache: Path) -> dict[str, np.ndarray]:
    """Each text's unit vector, cached on disk (``labelled.cached_vectors``)."""
    vectors = cached_vectors(inner.embed, inner.model_id, texts, cache)
    return dict(zip(texts, vectors, strict=True))


@dataclass(frozen=True)
class Banking:
    """BANKING77 as the benchmark uses it."""

    utterances: dict[str, list[str]]  # intent -> training utterances, in file order
    test: list[tuple[str, str]]  # (intent, text)
    replay: list[tuple[str, str]]  # (intent, text) asked by users, in order

    def rows(self, alternates: int) -> list[FaqRow]:
        """One FAQ per intent: its first utterance, then the next ``alternates``."""
        return [FaqRow(id=i, question=u[0], answer=f"Answer for {i}", url="",
                       alternates=tuple(u[1:1 + alternates]), category="")
                for i, u in sorted(self.utterances.items())]


def load_banking(folder: Path, count: int) -> Banking:
    """The FAQ's utterances, the test split, and ``count`` users' questions: training
    utterances other than the FAQ questions, shuffled with ``SEED``."""
    utterances: dict[str, list[str]] = {}
    for record in read_csv(folder / "train.csv"):
        utterances.setdefault(record["category"], []).append(
            clean(record["text"].replace("|", " ")))
    test = [(r["category"], clean(r["text"])) for r in read_csv(folder / "test.csv")]
    pool = [(intent, text) for intent, texts in sorted(utterances.items()) for text in texts[1:]]
    random.Random(SEED).shuffle(pool)
    return Banking(utterances, test, pool[:count])


def assembled(rows: list[FaqRow], embedder: KnownEmbedder) -> FaqData:
    """The FAQ as a merge of learned phrasings leaves it: assembled, nothing re-learned."""
    return assemble(rows, [embedder.embed(list(r.phrasings)) for r in rows], embedder,
                    "banking77")


def faq_from(rows: list[FaqRow], embedder: KnownEmbedder) -> FaqData:
    """The FAQ as ``faqbot build`` makes it: assembled, with the calibration it learns."""
    faq = assembled(rows, embedder)
    faq.calibration = learn(faq.index.matrix, faq.phrase_rows, [r.id for r in rows])
    return faq


def ceiling(data: Banking, embedder: KnownEmbedder, depth: int, test_vectors: np.ndarray,
            labels: list[str]) -> dict[str, float]:
    """For scale, the most that learning from what the bot shows could give: every replayed
    question is learned at once when its right FAQ ranks within the bot's top ``depth`` as
    it is asked (as if the bot always showed that many, never stayed silent, held nothing
    back, and every asker picked)."""
    base = data.rows(0)
    learned: dict[str, list[str]] = {r.id: [] for r in base}

    def answerer() -> Answerer:
        rows = [replace(r, alternates=tuple(learned[r.id])) for r in base]
        return Answerer(faq=assembled(rows, embedder), embedder=embedder,
                        min_score=DEFAULT_MIN_SCORE, margin=DEFAULT_MARGIN)

    current = answerer()
    for intent, text in data.replay:
        faq, scores = current.faq_scores(embedder.known[text])
        if intent in {faq.rows[int(i)].id for i in top_rows(scores, depth)}:
            learned[intent].append(text)
            current = answerer()
    return measure(current, test_vectors, labels)


def measure(answerer: Answerer, vectors: np.ndarray, labels: list[str]) -> dict[str, float]:
    """Shown recall, single-answer accuracy, and the shares of choices and silence."""
    counts: Counter[str] = Counter()
    for vector, label in zip(vectors, labels, strict=True):
        answer = answerer.answer_vector(vector)
        ids = [hit.id for hit in answer.shown]
        counts[answer.decision] += 1
        counts["shown"] += label in ids
        counts["single"] += answer.decision == Decision.ANSWER and ids[0] == label
    n = len(labels)
    return {"shown": counts["shown"] / n, "single": counts["single"] / n,
            "choices": counts[Decision.CHOICES] / n, "silent": counts[Decision.NONE] / n}


@dataclass
class Checkpoint:
    asked: int
    accepted: int
    taught: int  # FAQs with at least one alternate
    result: dict[str, float]
    replay: Counter[str]  # what happened to the questions asked since the last checkpoint
    pending: int = 0  # suggestions left pending (auto: too close, or refused)
    too_close: int = 0  # of those, ones ``too_close`` holds back now
    refused: int = 0  # manual: accepts refused with a UserError, so far
    calibrated: bool = False
    rows: list[FaqRow] = field(default_factory=list)  # the FAQ with what it has learned


@dataclass
class Run:
    mode: str
    checkpoints: list[Checkpoint] = field(default_factory=list)
    seconds: float = 0.0


def ask_as_user(n: int, intent: str, text: str, answerer: Answerer, store: Store,
                learner: Learner) -> str:
    """User ``n`` asks ``text`` in a channel; the bot replies (or stays silent) and logs it;
    the user confirms the right FAQ if they are shown it. Returns what happened."""
    user, ts = f"U{n:05d}", f"{FIRST_TS + n}.000100"
    started = time.perf_counter()
    answer = answerer.ask(text)
    reply_ts = None if answer.decision == Decision.NONE else f"{FIRST_TS + n}.000200"
    store.log_question(team=TEAM, channel=CHANNEL, ts=ts, user=user, text=answer.question,
                       answer=answer, latency_ms=(time.perf_counter() - started) * 1000,
                       reply_ts=reply_ts)
    ids = [hit.id for hit in answer.shown]
    if reply_ts is None:
        return "silent"
    if answer.decision == Decision.ANSWER:
        vote = "up" if ids[0] == intent else "down"
        store.log_vote(team=TEAM, channel=CHANNEL, message_ts=reply_ts, user=user,
                       faq_id=ids[0], vote=vote)
        if vote == "down":  # the bot then offers the next closest FAQs, as it does in Slack
            offered = learner.alternatives(team=TEAM, channel=CHANNEL, reply_ts=reply_ts,
                                           user=user, instead_of=ids[0])
            if intent not in offered:
                return "wrong answer"
            store.log_choice(team=TEAM, channel=CHANNEL, message_ts=reply_ts, user=user,
                             chosen=intent, shown=offered)
    elif intent in ids:
        store.log_choice(team=TEAM, channel=CHANNEL, message_ts=reply_ts, user=user,
                         chosen=intent, shown=ids)
    else:
        return "choices, right one missing"
    learner.confirmed(team=TEAM, channel=CHANNEL, reply_ts=reply_ts, user=user, faq_id=intent)
    return "confirmed"


def run_mode(mode: str, data: Banking, embedder: KnownEmbedder, test_vectors: np.ndarray,
             labels: list[str]) -> Run:
    """Replay the users' questions over a fresh store in ``mode`` (``auto`` or ``manual``)."""
    run, started = Run(mode), time.perf_counter()
    refused = 0
    with tempfile.TemporaryDirectory(prefix="faqbot-learning-") as folder:
        store = Store.from_url(f"sqlite:///{folder}/faqbot.sqlite3")
        answerer = Answerer(faq=faq_from(data.rows(0), embedder), embedder=embedder,
                            min_score=DEFAULT_MIN_SCORE, margin=DEFAULT_MARGIN)
        live = LiveFaq(answerer, store)
        live.refresh()
        learner = Learner(live, auto_accept=1 if mode == "auto" else 0)
        outcomes: Counter[str] = Counter()
        asked = 0
        for checkpoint in CHECKPOINTS:
            while asked < checkpoint:
                intent, text = data.replay[asked]
                outcomes[ask_as_user(asked, intent, text, answerer, store, learner)] += 1
                asked += 1
            if mode == "manual":
                for suggestion in store.suggestions(PENDING):
                    try:
                        learner.accept(suggestion.id, by="editor")
                    except UserError:
                        refused += 1
            pending = store.suggestions(PENDING)
            run.checkpoints.append(Checkpoint(
                asked=asked, accepted=sum(len(r.alternates) for r in live.faq.rows),
                taught=sum(bool(r.alternates) for r in live.faq.rows),
                result=measure(answerer, test_vectors, labels), replay=outcomes,
                pending=len(pending),
                too_close=sum(learner.too_close(s.text, s.faq_id) for s in pending),
                refused=refused, calibrated=live.faq.calibration is not None,
                rows=list(live.faq.rows)))
            outcomes = Counter()
        store.close()
    run.seconds = time.perf_counter() - started
    return run


def replay_cell(outcomes: Counter[str]) -> str:
    if not outcomes:
        return "—"
    return (f"{outcomes['confirmed']} / {outcomes['silent']} / {outcomes['wrong answer']} "
            f"/ {outcomes['choices, right one missing']}")


def print_report(runs: list[Run], hands: dict[str, dict[str, float]],
                 ceilings: dict[int, dict[str, float]], faqs: int, hand_alternates: int) -> bool:
    """The table and the target check; True when every mode meets the target."""
    print("| FAQ | asked | alternates (FAQs with any) | calibrated | shown recall "
          "| single answer | choices | silent "
          "| since last: confirmed / silent / wrong / missed | pending (too close) | refused |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        for c in run.checkpoints:
            r = c.result
            print(f"| learned, {run.mode} | {c.asked:,} | {c.accepted} ({c.taught}) "
                  f"| {'yes' if c.calibrated else 'no'} | {percent(r['shown'])} "
                  f"| {percent(r['single'])} | {percent(r['choices'])} | {percent(r['silent'])} "
                  f"| {replay_cell(c.replay)} | {c.pending} ({c.too_close}) "
                  f"| {c.refused if run.mode == 'manual' else '—'} |")
    for name, r in hands.items():
        print(f"| by hand, {HAND_ALTERNATES} per intent, {name} | — | {hand_alternates} ({faqs}) "
              f"| {'yes' if name.startswith('as') else 'no'} | {percent(r['shown'])} "
              f"| {percent(r['single'])} | {percent(r['choices'])} | {percent(r['silent'])} "
              f"| — | — | — |")
    for depth, r in ceilings.items():
        print(f"| ceiling: learns every question with the right FAQ in its top {depth} "
              f"| {CHECKPOINTS[-1]:,} | — | no | {percent(r['shown'])} | {percent(r['single'])} "
              f"| {percent(r['choices'])} | {percent(r['silent'])} | — | — | — |")
    print()
    passed = True
    for run in runs:
        start, end = run.checkpoints[0].result, run.checkpoints[-1].result
        gain = end["single"] - start["single"]
        ok = gain >= TARGET_GAIN and end["shown"] >= TARGET_SHOWN
        passed &= ok
        print(f"target ({run.mode}, after {run.checkpoints[-1].asked:,} questions): single "
              f"answer {percent(start['single'])} -> {percent(end['single'])} "
              f"({100 * gain:+.1f} points, need >= +{100 * TARGET_GAIN:.0f}), shown recall "
              f"{percent(end['shown'])} (need >= {percent(TARGET_SHOWN)}): "
              f"{'PASS' if ok else 'FAIL'}  [{run.seconds:.0f} s]")
    return passed


def tuned_in(runs: list[Run], embedder: KnownEmbedder, test: list[str], labels: list[str],
             cache: Path) -> None:
    """``faqbot tune`` at ``TUNED_AT`` questions: the FAQ with the phrasings learned so far,
    tuned and cross-fitted as ``faqbot tune`` does, measured like the rows above; and, for
    the comparison, that FAQ frozen with its thresholds learned (as ``faqbot export``
    writes it)."""
    from benchmarks.tuned import tuned_faq

    print("\n| FAQ | asked | alternates (FAQs with any) | model, thresholds | shown recall "
          "| single answer | choices | silent | tune s (+ cross-fit) |")
    print("|---|---|---|---|---|---|---|---|---|")
    frozen_vectors = np.stack([embedder.known[t] for t in test])
    for run in runs:
        for c in (c for c in run.checkpoints if c.asked in TUNED_AT):
            frozen = Answerer(faq=faq_from(c.rows, embedder), embedder=embedder,
                              min_score=DEFAULT_MIN_SCORE, margin=DEFAULT_MARGIN)
            r = measure(frozen, frozen_vectors, labels)
            print(f"| learned, {run.mode} | {c.asked:,} | {c.accepted} ({c.taught}) "
                  f"| frozen, learned | {percent(r['shown'])} | {percent(r['single'])} "
                  f"| {percent(r['choices'])} | {percent(r['silent'])} | — |", flush=True)
            done = tuned_faq(c.rows, cache, f"banking77 learned {run.mode} {c.asked}")
            if isinstance(done, str):
                print(f"| learned, {run.mode} | {c.asked:,} | {c.accepted} ({c.taught}) "
                      f"| not tuned: {done} | | | | | — |", flush=True)
                continue
            vectors = done.model.embed(test)
            for name, calibration in (("in-sample", done.in_sample),
                                      ("cross-fitted (shipped)", done.crossed)):
                if name.startswith("cross") and calibration is None:
                    name, calibration = "in-sample (too few to hold out)", done.in_sample
                answerer = Answerer(faq=replace(done.faq, calibration=calibration),
                                    embedder=done.model, min_score=DEFAULT_MIN_SCORE,
                                    margin=DEFAULT_MARGIN)
                r = measure(answerer, vectors, labels)
                print(f"| learned, {run.mode} | {c.asked:,} | {c.accepted} ({c.taught}) "
                      f"| tuned, {name} | {percent(r['shown'])} | {percent(r['single'])} "
                      f"| {percent(r['choices'])} | {percent(r['silent'])} "
                      f"| {done.model.seconds:.0f} (+{done.crossfit_seconds:.0f}) |", flush=True)


def tuned_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tuned", action="store_true",
                        help="also tune the learned FAQ in at 300 and 1,000 questions (slow)")


def main() -> int:
    args = arguments(__doc__.splitlines()[0], holding="banking77/",
                     cache_name="faqbot-learning-cache", extra=tuned_argument)
    if (failed := missing_sets(args.datasets, ("banking77",))) is not None:
        return failed
    folder = args.datasets / "banking77"
    logging.getLogger("bot").setLevel(logging.ERROR)  # refused auto-accepts are counted
    data = load_banking(folder, CHECKPOINTS[-1])
    hand_rows = data.rows(HAND_ALTERNATES)
    texts = list(dict.fromkeys([*(t for _, t in data.test), *(t for _, t in data.replay),
                                *(p for r in hand_rows for p in r.phrasings)]))
    inner = LocalEmbedder(model_id=MODEL_ID)
    embedder = KnownEmbedder(inner, embed_cached(inner, texts, args.cache))
    test_vectors = np.stack([embedder.known[t] for _, t in data.test])
    labels = [intent for intent, _ in data.test]
    print(f"BANKING77: {len(data.utterances)} FAQs, {len(labels):,} test questions, "
          f"{len(data.replay):,} users' questions (seed {SEED})\n")
    runs = [run_mode(mode, data, embedder, test_vectors, labels) for mode in ("auto", "manual")]
    hand_faq = faq_from(hand_rows, embedder)
    hands = {}
    for name, calibration in (("as `faqbot build`", hand_faq.calibration),
                              ("fixed defaults", None)):
        hand = Answerer(faq=replace(hand_faq, calibration=calibration), embedder=embedder,
                        min_score=DEFAULT_MIN_SCORE, margin=DEFAULT_MARGIN)
        hands[name] = measure(hand, test_vectors, labels)
    ceilings = {depth: ceiling(data, embedder, depth, test_vectors, labels)
                for depth in CEILING_DEPTHS}
    passed = print_report(runs, hands, ceilings, len(hand_rows),
                          sum(len(r.alternates) for r in hand_rows))
    print(f"\ntexts embedded outside the cache: {embedder.misses}")
    if args.tuned:
        tuned_in(runs, embedder, [t for _, t in data.test], labels, args.cache)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
