"""Serving a dataset's model through an API: only a server of our own can, and it must
serve the same model.

The public Inference API serves Hub models by id; a model tuned to one FAQ lives in that
FAQ's dataset, so it can't. A text-embeddings-inference (TEI) server can serve it, and TEI
says what it serves at ``GET /info`` (``model_id``, ``model_sha``). What the vectors mean
is checked too: the server must reproduce the dataset's own vector for its first question.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from bot.errors import UserError
from bot.faq.model_identity import MODEL_DIR_KEY

if TYPE_CHECKING:
    from bot.config import Settings

# Cosine between the stored and the served vector of one text: the same model on another
# runtime (int8 vs float, batch padding) stays far above this; another model falls far below.
SAME_MODEL_COSINE = 0.98
TEI_FIX = ("serve the dataset's model/ folder with text-embeddings-inference and set "
           "INFERENCE_API_URL to its /embed URL, or set EMBEDDING_BACKEND=local")


def is_public_api(url: str) -> bool:
    """The Hugging Face router (or any URL that picks a Hub model by id)."""
    host = urlsplit(url).hostname or ""
    return host.endswith("huggingface.co") or "{model}" in url


def require_servable(settings: Settings, model_id: str) -> None:
    """Refuse, at start, the public Inference API for a dataset carrying its own model."""
    if is_public_api(settings.inference_api_url):
        raise UserError(f"{settings.faq_dataset} carries a model tuned to it ({model_id}), "
                        "which the public Inference API can't serve", TEI_FIX)


def _name(model_id: str) -> str:
    return PurePosixPath(model_id.rstrip("/")).name.lower()


def check_served(card: dict[str, Any], embedder: Any, where: str, question: str,
                 stored: np.ndarray) -> None:
    """For an API embedder: refuse a server whose model isn't the dataset's."""
    info_of = getattr(embedder, "info", None)
    if not callable(info_of):
        return
    info = info_of() or {}
    served = str(info.get("model_id") or "")
    reported = f" (it reports model_id {served}, sha {info.get('model_sha') or 'none'})"
    if card.get(MODEL_DIR_KEY):
        cosine = float(embedder.embed([question])[0] @ stored)
        if cosine < SAME_MODEL_COSINE:
            raise UserError(
                f"{where} carries a model tuned to it, but the server at "
                f"{embedder.service_url} makes other vectors for its questions (cosine "
                f"{cosine:.2f}){reported if served else ''}", TEI_FIX)
        return
    model = str(card.get("model") or "")
    if served and model and _name(served) != _name(model):
        raise UserError(
            f"{where} was embedded with {model}, but the server at {embedder.service_url} "
            f"serves {served}", f"serve {model} there, or rebuild the dataset with "
                                f"EMBEDDING_MODEL={served} (faqbot build)")
