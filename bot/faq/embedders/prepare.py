"""``faqbot prepare``: do a first start's model work in a build step instead.

Loading the local model the first time builds its fast graph (``fast_graph``): seconds, but
a peak of 540 MB (more than a 512 MB dyno has), on every start of a host whose disk starts
empty (a Heroku dyno, a container). Run in a build step (Heroku's ``bin/post_compile``, a
Docker layer), it leaves the graph in the cache the app reads, keyed by content, so the move
from the build folder to the app's keeps it valid.

It loads the FAQ as a start does, so a dataset that won't load (a Hub outage, a bad token,
a tuned model's files missing) fails the build, not every dyno; and when the graph that was
asked for can't be built, it says why and exits 2, instead of shipping a slower app.
"""

from __future__ import annotations

import importlib.util
import tempfile
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.faq.embedders.local import LocalEmbedder
from bot.faq.embedders.model_files import WEIGHTS_INSTALL, ModelFiles
from bot.faq.embedders.onnx_session import cache_dir, fast_graph_path

if TYPE_CHECKING:
    from bot.config import Settings


def prepare(settings: Settings) -> str:
    """Load the FAQ and the model the app would serve, so the model's fast graph is built
    and cached; returns the line to print, or raises ``UserError`` naming what stops it."""
    from bot.faq.answerer import load_answerer

    if settings.resolved_backend == "api":
        return "nothing to prepare: embeddings come from an API (EMBEDDING_BACKEND=api)"
    _writable_cache()
    embedder = load_answerer(settings).embedder
    assert isinstance(embedder, LocalEmbedder) and embedder.files is not None
    files = embedder.files
    if embedder.fast:
        return (f"ready: {embedder.model_id} runs its fast graph, cached at "
                f"{fast_graph_path(files)}")
    _why_unfused(files, settings)
    return (f"ready: {embedder.model_id} runs {files.model} as it is (a quantized model has "
            "no fast graph; a float ONNX export of it would)")


def _writable_cache() -> None:
    """Somewhere to write the graph; and no "can't be built" marker left from an earlier
    failure, so this build tries again."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise UserError(f"cannot write the model cache {folder} ({exc.strerror})",
                        "make it writable, or point XDG_CACHE_HOME at a writable folder") from None
    for marker in folder.glob("*.none"):
        marker.unlink(missing_ok=True)


def _why_unfused(files: ModelFiles, settings: Settings) -> None:
    """Raise the reason a fast graph that could exist was not built; return for a model
    that has none (a quantized export)."""
    from bot.faq.embedders.fast_graph import float_graph

    if importlib.util.find_spec("onnx") is None:
        raise UserError("the fast graph is built with the onnx package, which is missing",
                        "pip install 'faqbot[fast]'")
    if files.weights is None and files.weights_sha256:
        raise UserError("the stock model's float weights are not installed",
                        WEIGHTS_INSTALL)
    if files.official and settings.embedding_model_dir:
        raise UserError(f"EMBEDDING_MODEL_DIR={settings.embedding_model_dir} holds the stock "
                        "model's int8 file, which can't be fused",
                        "unset EMBEDDING_MODEL_DIR: the packaged model and its float weights "
                        "are found without it")
    if float_graph(files) is not None:
        raise UserError(f"the fast graph of {files.source} could not be built (see the "
                        "warning above)", "the app runs the model unfused until it can; "
                        "report the warning")
