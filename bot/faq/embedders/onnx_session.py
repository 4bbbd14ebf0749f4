"""Open an onnxruntime session, reusing a pre-optimised copy of the model from a cache.

Two kinds of copy, each keyed by its model and the onnxruntime version, written atomically,
and simply rebuilt if missing or bad. Each load marks its copy as used, and each new copy
evicts all but the most recently used ``KEEP_COPIES``: every tune makes a new model file,
so the folder would otherwise grow by 30-90 MB a tune, for ever.

- the fast graph (``fast_graph``): fused and 8-bit, built from the float weights when they
  are at hand and the ``onnx`` package is installed; a question in about 0.65x the folded
  copy's time (benchmarks/embed_speed.py);
- the folded copy: the int8 model's weights constant-folded to float32 once, instead of at
  every load, which cuts the peak memory of a start by about 75 MB at the same speed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import UserError
from bot.faq.embedders.model_files import WEIGHTS_INSTALL, ModelFiles

if TYPE_CHECKING:
    from bot.faq.embedders.fast_graph import Probe

log = logging.getLogger(__name__)

PROVIDERS = ["CPUExecutionProvider"]
# Copies kept: the models one machine serves at once (stock, tuned, a re-tune) with room.
KEEP_COPIES = 8


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "faqbot" / "onnx"


def _options(ort: Any, level: Any) -> Any:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False  # the arena keeps peak-size buffers around
    # Idle intra-op threads otherwise spin: at 50 questions/s that doubled the worker's CPU
    # (1.5 cores) and stretched the reply p99 on a 2-core dyno.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = level
    return options


def _key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def _cache_key(model: Path, ort: Any) -> str:
    """Which file (by path, size and modification time: no hashing at each start), which
    onnxruntime."""
    stat = model.stat()
    return _key(f"{model.resolve()}|{stat.st_size}|{stat.st_mtime_ns}", ort.__version__)


def evict_unused(folder: Path, keep: int) -> None:
    """Remove all but the ``keep`` most recently used copies (and what they left beside
    them); another process still serving an evicted copy has it in memory already."""
    def used(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except FileNotFoundError:  # evicted meanwhile by another process
            return 0.0

    copies = sorted(folder.glob("*.onnx"), key=used, reverse=True)
    for stale in copies[keep:]:
        stale.unlink(missing_ok=True)


def _store(partial: Path, cached: Path) -> None:
    os.replace(partial, cached)
    evict_unused(cached.parent, KEEP_COPIES)


def _load_cached(ort: Any, cached: Path) -> Any | None:
    if not cached.is_file():
        return None
    try:
        options = _options(ort, ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
        session = ort.InferenceSession(str(cached), options, providers=PROVIDERS)
    except FileNotFoundError:  # evicted by another process between the check and the load
        return None
    except Exception:  # a truncated or stale copy: rebuild it
        log.warning("ignoring a bad optimised model copy at %s", cached)
        cached.unlink(missing_ok=True)
        return None
    # Used now: eviction keeps the most recently used copies. A read-only cache, or a copy
    # evicted meanwhile, changes nothing: the session is loaded.
    with contextlib.suppress(OSError):
        os.utime(cached)
    return session


def fast_graph_path(files: ModelFiles) -> Path:
    """Where the fast graph of ``files`` is cached (``.none`` beside it: none can be built).

    Keyed by content (the float weights' known sha256, else the model's fingerprint), not by
    path: a graph built in a build step (Heroku's ``bin/post_compile``, a Docker layer) is
    found again where the app runs, although the build ran in another folder."""
    import onnxruntime as ort

    from bot.faq.embedders.fast_graph import RECIPE

    content = files.weights_sha256 or files.fingerprint
    return cache_dir() / f"{_key(content, ort.__version__, RECIPE)}.fast.onnx"


def open_fast_session(files: ModelFiles, probe: Probe) -> Any | None:
    """A session on the fast graph of ``files``, built and cached on first use; None when
    it can't be built here (no float weights, or no ``onnx`` package to build with)."""
    import onnxruntime as ort

    cached = fast_graph_path(files)
    session = _load_cached(ort, cached)
    if session is not None:
        return session
    unbuildable = cached.with_suffix(".none")
    if unbuildable.is_file():
        return None
    if files.weights is None and files.weights_sha256:  # the model file is the int8 one
        log.info("the local model runs unfused: %s builds its fast graph", WEIGHTS_INSTALL)
        return None
    try:
        import onnx  # noqa: F401  (checked here: only the build needs it)
    except ImportError:
        log.info("the local model runs unfused: pip install onnx to build its fast graph")
        return None
    from bot.faq.embedders import fast_graph

    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        built = fast_graph.build(files, probe, partial)
    except OSError:  # a read-only home: without a place to build in, run the model as it is
        log.debug("cannot write %s", cached.parent, exc_info=True)
        partial.unlink(missing_ok=True)
        return None
    except UserError:  # the float weights fail their hash check: the user must act
        raise
    except Exception:  # a model the optimizer can't take: serve it as it is, and say so once
        log.warning("could not build the fast graph of %s; running it as it is", files.source,
                    exc_info=True)
        partial.unlink(missing_ok=True)
        built = None
    if built is None:  # a quantized export, or one that failed: don't retry every load
        unbuildable.touch()
        return None
    _store(partial, cached)
    return _load_cached(ort, cached)


def open_session(model: Path) -> Any:
    """A session on ``model`` as it is, through its folded copy."""
    import onnxruntime as ort

    cached = cache_dir() / f"{_cache_key(model, ort)}.onnx"
    session = _load_cached(ort, cached)
    if session is not None:
        return session
    # Basic-level optimisation only: its output is portable across CPUs.
    options = _options(ort, ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        options.optimized_model_filepath = str(partial)
    except OSError:  # a read-only home: run without the cache
        log.debug("cannot write %s", cached.parent, exc_info=True)
    session = ort.InferenceSession(str(model), options, providers=PROVIDERS)
    if partial.is_file():
        _store(partial, cached)
    return session
