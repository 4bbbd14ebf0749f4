"""What the benchmarks on labelled question sets (``quality``, ``learning``) share: their
command line, the sets' CSV files, embeddings cached on disk, and how a share is printed."""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bot.config import Settings
from bot.faq.embedders.local import LocalEmbedder

ROOT = Path(__file__).resolve().parents[1]
BATCH = 64


def arguments(description: str, *, holding: str, cache_name: str,
              extra: Callable[[argparse.ArgumentParser], None] | None = None
              ) -> argparse.Namespace:
    """``--datasets`` (the folder holding ``holding``) and ``--cache`` (embeddings), plus
    what ``extra`` adds."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets",
                        help=f"folder holding {holding} (default ../shared/datasets)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / cache_name,
                        help="where embeddings are cached as .npy files")
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def missing_sets(datasets: Path, names: Sequence[str]) -> int | None:
    """Exit code 2, with one line naming the fix, when a set lacks train.csv or test.csv."""
    missing = [n for n in names if not all((datasets / n / f).is_file()
                                           for f in ("train.csv", "test.csv"))]
    if not missing:
        return None
    print(f"error: {datasets} has no {', '.join(missing)} (train.csv, test.csv). "
          "Fix: pass --datasets FOLDER", file=sys.stderr)
    return 2


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def cached_vectors(embed: Callable[[list[str]], np.ndarray], model_id: str, texts: list[str],
                   cache: Path) -> np.ndarray:
    """The texts' vectors, from one .npy under ``cache`` keyed by the model and the texts;
    embedded in batches and saved there the first time, so reruns take seconds."""
    key = hashlib.sha256("\n".join([model_id, *texts]).encode()).hexdigest()[:20]
    path = cache / f"{key}.npy"
    if path.is_file():
        return np.load(path)
    started = time.perf_counter()
    vectors = np.concatenate([embed(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)])
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    if len(texts) > BATCH:
        print(f"embedded {len(texts):,} texts in {time.perf_counter() - started:.0f} s "
              f"(cached in {path})", file=sys.stderr)
    return vectors


def percent(value: float) -> str:
    return f"{100 * value:.1f} %"


class CachedEmbedder:
    """A local embedder (``inner``; the configured model when not given), with each list of
    texts cached as one .npy file."""

    def __init__(self, cache: Path, inner: LocalEmbedder | None = None) -> None:
        if inner is None:
            settings = Settings.from_env()
            inner = LocalEmbedder(model_id=settings.embedding_model,
                                  model_dir=settings.embedding_model_dir,
                                  token=settings.hf_token)
        self.inner = inner
        self.model_id = inner.model_id
        self.cache = cache

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        return cached_vectors(self.inner.embed, self.model_id, texts, self.cache)
