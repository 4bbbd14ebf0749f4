"""The model a dataset carries with it (a tuned one, in its ``model/`` folder).

A tuned model is part of the FAQ: its vectors mean nothing to any other model. So it
travels inside the dataset, locally or in the Hub repo, and is fetched at the same
revision as the vectors: a new commit brings both or neither.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bot.errors import UserError
from bot.faq.dataset import read_card
from bot.faq.model_identity import MODEL_DIR_KEY
from bot.faq.sources import is_local

log = logging.getLogger(__name__)

MODEL_DIR = "model"  # inside a dataset: model.onnx, tokenizer.json (and config for TEI)
MODEL_FILES = ("model.onnx", "tokenizer.json")


@dataclass(frozen=True)
class CarriedModel:
    directory: Path  # holds model.onnx and tokenizer.json
    model_id: str  # the card's name for it
    relative: str  # where it sits inside the dataset


def _local_root(spec: str) -> Path:
    path = Path(spec).expanduser()
    return path if path.is_dir() else next(
        (p for p in (path.parent, path.parent.parent) if (p / "README.md").is_file()), path.parent)


def carried_model(spec: str, revision: str = "main", token: str = "") -> CarriedModel | None:
    """The dataset's own model, when its card says it carries one; None otherwise."""
    card = read_card(spec, revision, token)
    relative = card.get(MODEL_DIR_KEY)
    if not isinstance(relative, str) or not relative:
        return None
    model_id = str(card.get("model") or "tuned")
    if is_local(spec):
        directory = _local_root(spec) / relative
        if not all((directory / name).is_file() for name in MODEL_FILES):
            raise UserError(f"{spec} says it carries its model in {relative}/, but "
                            f"{directory} lacks model.onnx or tokenizer.json",
                            "copy the whole dataset folder, or re-tune it (faqbot tune)")
        return CarriedModel(directory, model_id, relative)
    return CarriedModel(_download(spec, relative, revision, token), model_id, relative)


def _download(spec: str, relative: str, revision: str, token: str) -> Path:
    from huggingface_hub import hf_hub_download

    paths = []
    for name in MODEL_FILES:
        try:
            paths.append(Path(hf_hub_download(spec, f"{relative}/{name}", repo_type="dataset",
                                              revision=revision or None, token=token or None)))
        except Exception as exc:  # the Hub client raises many types; all mean "not there"
            log.debug("carried model download failed", exc_info=True)
            raise UserError(f"could not fetch {relative}/{name} of {spec} ({type(exc).__name__})",
                            "check the network and HF_TOKEN, or push the dataset again "
                            "with its model folder") from None
    return paths[0].parent
