"""Cold start of ``faqbot ask`` with a tuned dataset against an untuned one: wall time and
peak memory, as ratios. Target: both within 1.2× (issue 19).

Both datasets are built here from the same source (the Medicare sample by default): one
with ``faqbot build``, one with ``faqbot build --tune`` (needs ``faqbot[tune]``), or pass
``--tuned DIR`` to reuse a tuned build. Each ``faqbot ask`` runs as its own process, measured
like ``benchmarks/cold_start.py`` (wall time to exit, the child's own peak RSS via
``wait4``): one warm-up run each, then --runs rounds, alternating, and medians.

Run::

    nice -n 10 .venv/bin/python -m benchmarks.tuned_cold_start [--runs 5] [--tuned DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.cold_start import Case, child_env, faqbot_argv, run_once
from benchmarks.labelled import ROOT

QUESTION = "How can Medicare help me?"
TARGET = 1.2


def build(faqbot: list[str], source: str, out: Path, *, tune: bool) -> None:
    argv = [*faqbot, "build", source, "--out", str(out), "--quiet", *(["--tune"] if tune else [])]
    done = subprocess.run(argv, capture_output=True, text=True, env=child_env())
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr.strip()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--source", default=str(ROOT / "examples" / "medicare" / "faq.csv"))
    parser.add_argument("--tuned", type=Path, help="a tuned dataset to reuse")
    args = parser.parse_args()
    faqbot = faqbot_argv()
    with tempfile.TemporaryDirectory(prefix="faqbot-tuned-cold-") as temp:
        untuned_dir, tuned_dir = Path(temp, "untuned"), args.tuned or Path(temp, "tuned")
        build(faqbot, args.source, untuned_dir, tune=False)
        if args.tuned is None:
            build(faqbot, args.source, tuned_dir, tune=True)
        cases = {name: (Case(name, [*faqbot, "ask", QUESTION]),
                        {**child_env(), "FAQ_DATASET": str(directory),
                         "EMBEDDING_BACKEND": "local"})
                 for name, directory in (("untuned", untuned_dir), ("tuned", tuned_dir))}
        for case, env in cases.values():
            case.first = run_once(case, temp, env)
        for _ in range(args.runs):
            for case, env in cases.values():
                case.samples.append(run_once(case, temp, env))
    untuned, tuned = cases["untuned"][0], cases["tuned"][0]

    def peak(case: Case) -> float:
        return statistics.median(s.peak_mb for s in case.samples)

    print(f"`faqbot ask` on {Path(args.source).name}; median of {args.runs} runs after a "
          "warm-up\n")
    print("| dataset | median wall s | median peak RSS MB |")
    print("|---|---:|---:|")
    for case in (untuned, tuned):
        print(f"| {case.name} | {case.median_s:.3f} | {peak(case):.0f} |")
    time_ratio, memory_ratio = tuned.median_s / untuned.median_s, peak(tuned) / peak(untuned)
    verdict = "ok" if max(time_ratio, memory_ratio) <= TARGET else "MISSED"
    print(f"\ntuned / untuned: wall {time_ratio:.2f}×, peak memory {memory_ratio:.2f}× "
          f"(target ≤ {TARGET}×: {verdict})")
    return 0



if __name__ == "__main__":
    sys.exit(main())
