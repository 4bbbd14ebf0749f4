"""Embedders turn texts into L2-normalised float32 vectors.

``LocalEmbedder`` runs the model in-process on onnxruntime; ``InferenceApiEmbedder``
calls the Hugging Face Inference API or a text-embeddings-inference server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from bot.config import Settings


class Embedder(Protocol):
    """What the FAQ engine needs from an embedding backend."""

    model_id: str

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return a (len(texts), dim) float32 array of unit vectors."""
        ...


def create_embedder(settings: Settings, *, for_build: bool = False,
                    revision: str | None = None, dataset_model: bool | None = None) -> Embedder:
    """Build the embedder the settings ask for (``auto`` picks the API when HF_TOKEN is set).

    Serving a dataset that carries its own (tuned) model uses that model, read at the
    dataset's ``revision``; a build embeds a new source, so it uses the configured one
    (``dataset_model`` overrides that choice, which ``for_build`` makes by default)."""
    carried = None
    if not for_build if dataset_model is None else dataset_model:
        from bot.faq.carried_model import carried_model

        carried = carried_model(settings.faq_dataset, revision or settings.faq_dataset_revision,
                                settings.hf_token)
    if settings.resolved_backend == "api":
        from bot.faq.embedders.api import InferenceApiEmbedder

        if carried is not None:
            from bot.faq.embedders.served_model import require_servable

            require_servable(settings, carried.model_id)
        return InferenceApiEmbedder.from_settings(
            settings, for_build=for_build, model_id=carried.model_id if carried else "")
    from bot.faq.embedders.local import LocalEmbedder

    if carried is not None:  # EMBEDDING_MODEL_DIR may stand in; its fingerprint decides
        own = not settings.embedding_model_dir
        return LocalEmbedder(model_id=carried.model_id,
                             model_dir=str(carried.directory) if own else
                             settings.embedding_model_dir,
                             carried=carried.relative if own else "")
    return LocalEmbedder.from_settings(settings)
