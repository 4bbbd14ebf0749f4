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


def create_embedder(settings: Settings, *, for_build: bool = False) -> Embedder:
    """Build the embedder the settings ask for (``auto`` picks the API when HF_TOKEN is set)."""
    if settings.resolved_backend == "api":
        from bot.faq.embedders.api import InferenceApiEmbedder

        return InferenceApiEmbedder.from_settings(settings, for_build=for_build)
    from bot.faq.embedders.local import LocalEmbedder

    return LocalEmbedder.from_settings(settings)
