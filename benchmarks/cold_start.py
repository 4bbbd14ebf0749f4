"""Cold start of the ``faqbot`` command: wall time and peak memory of one-shot processes.

A script, not a test: it prints a markdown table. Targets:

- ``faqbot ask "How can Medicare help me?"``: <= 3 s wall time, <= 350 MB peak RSS;
- ``faqbot --help``: <= 0.3 s wall time.

Same-run baselines, since machines are noisy: ``python -c "pass"`` (interpreter start) and
``python -c "import numpy"``; every row is also printed as a ratio to each of them.

How it measures. Each command runs as its own child process (``subprocess.Popen``, output to
temporary files so no pipe can fill up), reaped with ``os.wait4(pid)``:

- wall time runs from just before the fork to the reaping, so it covers interpreter start,
  imports, loading the dataset and model, embedding, printing the answer and interpreter
  teardown (a little more than "until the answer is printed": a conservative number);
- peak RSS is the ``ru_maxrss`` that ``wait4`` returns for that one child (kilobytes on Linux),
  so, unlike ``getrusage(RUSAGE_CHILDREN)``, it is not a running maximum over every child.

Every command first runs once as a warm-up (reported separately as "first run": the closest
to a cold OS file cache a script gets without dropping caches), then --runs more times,
round-robin across the commands so drift hits all of them alike; the table shows medians.
The children run in an empty temporary directory (no ``.env`` is picked up) with the faqbot
settings (``FAQ_*``, ``EMBEDDING_*``, ``ANSWER_*``, ``HF_TOKEN``) removed from their
environment, so they measure the default configuration: the bundled Medicare sample and the
local ONNX embedder.

Run::

    /tmp/venv/bin/python benchmarks/cold_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import VARIABLES

QUESTION = "How can Medicare help me?"
ASK_TARGET_S = 3.0
ASK_TARGET_MB = 350.0
HELP_TARGET_S = 0.3


@dataclass(frozen=True)
class Sample:
    wall_s: float
    peak_mb: float


@dataclass
class Case:
    name: str
    argv: list[str]
    target_s: float | None = None
    target_mb: float | None = None
    prints: bool = True  # the command must print something (faqbot's answer or help)
    first: Sample | None = None
    samples: list[Sample] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(s.wall_s for s in self.samples)

    @property
    def peak_mb(self) -> float:
        return max(s.peak_mb for s in self.samples)


def faqbot_argv() -> list[str]:
    """The console script next to this interpreter, else ``python -m bot``."""
    script = Path(sys.executable).with_name("faqbot")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "bot"]


def child_env(folder: str) -> dict[str, str]:
    """No faqbot setting from the caller; the database a file in ``folder``, never the user's."""
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env["DATABASE_URL"] = f"sqlite:///{Path(folder) / 'faqbot.sqlite3'}"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # measure loading, not writing, bytecode caches
    return env


def run_once(case: Case, cwd: str, env: dict[str, str]) -> Sample:
    """Run ``argv`` to completion; its wall time and its own peak RSS (via ``wait4``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        argv = case.argv
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                cwd=cwd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
        if proc.returncode != 0:
            err.seek(0)
            message = err.read().decode("utf-8", "replace").strip()
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{message}")
        out.seek(0)
        if case.prints and not out.read().strip():
            raise SystemExit(f"{' '.join(argv)} printed nothing")
    return Sample(wall_s=wall, peak_mb=usage.ru_maxrss / 1024)  # ru_maxrss is in KiB


def fmt_target(case: Case) -> str:
    parts = []
    if case.target_s is not None:
        ok = case.median_s <= case.target_s
        parts.append(f"<= {case.target_s:g} s {'ok' if ok else 'MISSED'}")
    if case.target_mb is not None:
        ok = case.peak_mb <= case.target_mb
        parts.append(f"<= {case.target_mb:g} MB {'ok' if ok else 'MISSED'}")
    return ", ".join(parts) or "baseline"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (median)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    faqbot = faqbot_argv()
    py = sys.executable
    ask = Case(f'faqbot ask "{QUESTION}"', [*faqbot, "ask", QUESTION],
               ASK_TARGET_S, ASK_TARGET_MB)
    helps = Case("faqbot --help", [*faqbot, "--help"], HELP_TARGET_S)
    bare = Case('python -c "pass"', [py, "-c", "pass"], prints=False)
    numpy = Case('python -c "import numpy"', [py, "-c", "import numpy"], prints=False)
    cases = [ask, helps, numpy, bare]

    with tempfile.TemporaryDirectory(prefix="faqbot-cold-") as cwd:
        env = child_env(cwd)
        for case in cases:  # warm-up, faqbot ask first so its first run is the coldest
            case.first = run_once(case, cwd, env)
        for _ in range(args.runs):
            for case in cases:
                case.samples.append(run_once(case, cwd, env))

    print(f"faqbot: `{' '.join(faqbot)}`; python {sys.version.split()[0]}; "
          f"{os.cpu_count()} CPUs; median of {args.runs} runs after 1 warm-up run\n")
    print("| command | median wall s | first run s | peak RSS MB | x `python -c pass` "
          "| x `import numpy` | target |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for case in cases:
        assert case.first is not None
        print(f"| `{case.name}` | {case.median_s:.3f} | {case.first.wall_s:.3f} "
              f"| {case.peak_mb:.0f} | {case.median_s / bare.median_s:.1f} "
              f"| {case.median_s / numpy.median_s:.2f} | {fmt_target(case)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
