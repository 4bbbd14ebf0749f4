"""Peak memory and time of loading a dataset whose alternates came without their vectors.

A script, not a test. A one-FAQ dataset with 128 long alternates (about 300 long words each,
far past the model's 256 tokens) is built with the local embedder, then written twice: as
built, and with its ``alternate_embeddings`` column dropped, as a hand-edited Hub commit can
be. Each is loaded by ``load_faq`` in a fresh process, whose peak RSS (``VmHWM``, which
unlike ``ru_maxrss`` starts afresh at exec) and wall time are printed; the dataset with its
vectors is the baseline, since loading it embeds nothing.

Run::

    PYTHONPATH=. .venv/bin/python -m benchmarks.alternates_at_load
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.long_words import long_made_up_words

ALTERNATES = 128
WORDS = 300


def make(workdir: Path) -> tuple[Path, Path]:
    import pyarrow.parquet as pq

    from bot.config import Settings
    from bot.faq.dataset import DATA_FILE, build
    from bot.faq.embedders import create_embedder

    rng = random.Random(6)
    source = workdir / "faq.jsonl"
    alternates = [long_made_up_words(rng, WORDS) for _ in range(ALTERNATES)]
    source.write_text(json.dumps({"id": "long", "question": "Where is the meeting room?",
                                  "answer": "Ask reception.", "alternates": alternates}))
    embedder = create_embedder(Settings.from_env({"EMBEDDING_BACKEND": "local"}))
    with_vectors, without = workdir / "with", workdir / "without"
    build(str(source), with_vectors, embedder, progress=False)
    build(str(source), without, embedder, progress=False)
    table = pq.read_table(without / DATA_FILE)
    pq.write_table(table.drop(["alternate_embeddings"]), without / DATA_FILE)
    return with_vectors, without


def child(path: str) -> None:
    from bot.config import Settings
    from bot.faq.dataset import load_faq
    from bot.faq.embedders import create_embedder

    embedder = create_embedder(Settings.from_env({"EMBEDDING_BACKEND": "local"}))
    embedder.embed(["load the model first"])
    started = time.perf_counter()
    faq = load_faq(path, embedder)
    elapsed = time.perf_counter() - started
    status = Path("/proc/self/status").read_text()
    peak = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak, "phrasings": len(faq.index.matrix)}))


def measure(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks.alternates_at_load", "--child",
                          str(path)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
        return
    with tempfile.TemporaryDirectory(prefix="faqbot-alt-bench-") as tmp:
        with_vectors, without = make(Path(tmp))
        base, bare = measure(with_vectors), measure(without)
    print(f"one FAQ, {ALTERNATES} alternates of ~{WORDS} long words\n")
    print("| load_faq | seconds | peak MB |")
    print("|---|---:|---:|")
    print(f"| with alternate vectors (baseline) | {base['seconds']:.2f} | {base['peak_mb']:.0f} |")
    print(f"| without: embedded at load | {bare['seconds']:.2f} | {bare['peak_mb']:.0f} |")
    print(f"\npeak memory {bare['peak_mb'] / base['peak_mb']:.2f}× the baseline "
          f"(+{bare['peak_mb'] - base['peak_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
