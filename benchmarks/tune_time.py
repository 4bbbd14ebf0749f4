"""Tune time against FAQ size: ``faqbot build --tune``'s tuning (pairs, training, ONNX
export, fast-graph drift check) on FAQs of 25 to 150 entries with 6 phrasings each, then the second
tune that cross-fits the thresholds (``bot.faq.tune.crossfit``), which the budget covers
too.

A script, not a test: it prints a markdown table. Target: 150 FAQs × 6 phrasings within
5 minutes on a 2-core machine. Each row also shows its time per phrasing as a ratio to the
smallest FAQ's, from the same run (tuning should grow linearly with the phrasings; the
fixed part is loading the weights and the export). The process's CPU seconds are shown too:
on a machine shared with other work (and under ``nice``), wall time measures the neighbours
as much as the tune, while CPU seconds / 2 is what the tune takes on 2 idle cores.

The FAQs are real user questions: the intents of BANKING77 and HWU64 (see
``../shared/datasets/README.md``), each cut into FAQs of 6 consecutive training utterances
(the first chunk of every intent, then the second), as many as a row needs. The phrasings'
meaning doesn't change the time, only their number and length do.

Run (it takes several minutes; leave the machine's other work room)::

    nice -n 10 .venv/bin/python -m benchmarks.tune_time [--sizes 25,50,100,150]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.labelled import ROOT, missing_sets, read_csv
from bot.faq.sources import FaqRow

PHRASINGS = 6
BUDGET_FAQS, BUDGET_S = 150, 300.0
SETS = ("banking77", "hwu64")


def faqs(datasets: Path, count: int) -> list[FaqRow]:
    """``count`` FAQs of ``PHRASINGS`` utterances each, from the sets' training splits."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for name in SETS:
        for row in read_csv(datasets / name / "train.csv"):
            by_intent[f"{name}:{row['category']}"].append(row["text"].replace("|", " "))
    chunks = []
    for part in range(max(len(t) for t in by_intent.values()) // PHRASINGS):
        for intent, texts in sorted(by_intent.items()):
            chunk = texts[part * PHRASINGS:(part + 1) * PHRASINGS]
            if len(chunk) == PHRASINGS:
                chunks.append((f"{intent}:{part}", chunk))
    if len(chunks) < count:
        raise SystemExit(f"error: only {len(chunks)} FAQs can be made. Fix: ask for fewer")
    return [FaqRow(id=faq_id, question=texts[0], answer=f"Answer for {faq_id}",
                   alternates=tuple(texts[1:])) for faq_id, texts in chunks[:count]]


def main() -> int:
    import argparse

    from bot.faq.tune import tune
    from bot.faq.tune.crossfit import held_out_calibration

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--sizes", default="25,50,100,150", help="FAQ counts, comma-separated")
    args = parser.parse_args()
    if (failed := missing_sets(args.datasets, SETS)) is not None:
        return failed
    sizes = sorted(int(s) for s in args.sizes.split(","))
    results = []
    for size in sizes:
        rows = faqs(args.datasets, size)
        cpu = time.process_time()
        with tempfile.TemporaryDirectory(prefix="faqbot-tune-time-") as temp:
            report = tune(rows, Path(temp) / "model", progress=False)
        started = time.perf_counter()
        held_out_calibration(rows)
        crossfit = time.perf_counter() - started
        cpu = time.process_time() - cpu
        results.append((size, report, cpu, crossfit))
        print(f"{size} FAQs: {report.seconds:.0f} s + {crossfit:.0f} s wall, {cpu:.0f} CPU s",
              file=sys.stderr, flush=True)
    first_size, first, _, _ = results[0]
    per_first = first.seconds / (first_size * PHRASINGS)
    print(f"\n{PHRASINGS} phrasings per FAQ; time includes loading the weights, training one "
          "epoch, the ONNX export and building its fast graph with the drift check\n")
    print("| FAQs | phrasings | pairs | steps | tune s (wall) | + cross-fit s | CPU s (both) "
          f"| s per 100 phrasings | x per phrasing vs {first_size} FAQs | saved as "
          "| served drift worst / mean |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for size, report, cpu, crossfit in results:
        per = report.seconds / (size * PHRASINGS)
        print(f"| {size} | {size * PHRASINGS} | {report.pairs} | {report.steps} "
              f"| {report.seconds:.0f} | {crossfit:.0f} | {cpu:.0f} | {100 * per:.1f} "
              f"| {per / per_first:.2f} "
              f"| {'fast graph' if report.fast else 'float'} "
              f"| {report.drift:.4f} / {report.mean_drift:.4f} |")
    budget = [(r, cpu, c) for s, r, cpu, c in results if s == BUDGET_FAQS]
    if budget:
        report, cpu, crossfit = budget[0]
        total = report.seconds + crossfit
        ok = total <= BUDGET_S
        print(f"\n{BUDGET_FAQS} FAQs: {report.seconds:.0f} + {crossfit:.0f} s wall ({cpu:.0f} "
              f"CPU s) against a {BUDGET_S:.0f} s budget: {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
