"""all-MiniLM-L6-v2 (or any BERT-style ONNX export) on onnxruntime + tokenizers, no torch.

The model runs as its fast graph (fused, 8-bit, built once from the float weights and
cached: ``fast_graph``) when that can be built here, else as the model file is."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.errors import UserError
from bot.faq.embedders.model_files import ModelFiles, fingerprint_of, locate_model_files
from bot.faq.embedders.onnx_session import open_fast_session, open_session
from bot.faq.index import normalize_rows
from bot.faq.model_identity import ModelIdentity

# Characters kept before tokenising: far more than 256 tokens, so truncation stays the
# tokenizer's job, while a 100 kB message costs no more than a long one.
from bot.faq.question import MAX_QUESTION_CHARS

if TYPE_CHECKING:
    from bot.config import Settings

MAX_TOKENS = 256
# Padded tokens per model run. A batch is padded to its longest text and attention grows with
# the square of that length, so batches are cut by tokens, not by count: 8 texts of 256
# tokens, or hundreds of short questions, per run; one call's memory stays bounded.
MAX_BATCH_TOKENS = 2048


class LocalEmbedder:
    """Loads lazily on first use; safe to share between threads."""

    def __init__(self, *, model_id: str, model_dir: str = "", token: str = "",
                 carried: str = "", fast: bool = True) -> None:
        self.model_id = model_id
        self._allow_fast = fast  # False: the model file as it is (a reference for drift)
        self._carried = carried  # the folder inside a dataset that holds this model
        self._model_dir = model_dir
        self._token = token
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._dim = 0
        self.files: ModelFiles | None = None
        self.fast = False  # runs the fast graph

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalEmbedder:
        return cls(
            model_id=settings.embedding_model,
            model_dir=settings.embedding_model_dir,
            token=settings.hf_token,
        )

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime  # noqa: F401  (checked here for a clear message)
                from tokenizers import Tokenizer
            except ImportError:
                raise UserError(
                    "the local embedder needs onnxruntime and tokenizers",
                    "pip install 'faqbot[local]', or set EMBEDDING_BACKEND=api with HF_TOKEN",
                ) from None
            files = locate_model_files(self.model_id, self._model_dir, self._token)
            try:
                tokenizer = Tokenizer.from_file(str(files.tokenizer))
                # The shipped tokenizer pads everything to 128 tokens: 8x the work for one
                # query. Each batch is padded here instead, to its own longest text.
                tokenizer.no_padding()
                tokenizer.enable_truncation(MAX_TOKENS)
                self._pad_id = tokenizer.token_to_id("[PAD]") or 0
                self._tokenizer = tokenizer
                session = open_fast_session(files, self._probe) if self._allow_fast else None
                self.fast = session is not None
                if session is None:
                    session = open_session(files.model)
                elif files.weights_sha256:  # the vectors come from the float weights
                    files = replace(files, known_fingerprint=fingerprint_of(
                        files.weights_sha256, files.tokenizer_sha256))
            except UserError:
                raise
            except Exception as exc:  # onnxruntime and tokenizers raise their own types
                raise UserError(
                    f"cannot load the model from {files.source}: {str(exc).splitlines()[0][:200]}",
                    "reinstall 'faqbot[local]' or fix the files in EMBEDDING_MODEL_DIR",
                ) from None
            self.files = files
            self._inputs = {i.name for i in session.get_inputs()}
            self._session = session
            self._dim = int(self._run(["dimension probe"]).shape[1])

    def identity(self) -> ModelIdentity:
        """Which model files make this embedder's vectors (loads them if needed)."""
        if self._session is None:
            self._load()
        assert self.files is not None
        return ModelIdentity(self.files.fingerprint, stock=self.files.official,
                             where=self.files.source, carried=self._carried)

    @property
    def dim(self) -> int:
        if self._session is None:
            self._load()
        return self._dim

    def _probe(self, session: Any) -> np.ndarray:
        """``session``'s unit vectors of the fast graph's probe sentences, one run each."""
        from bot.faq.embedders.fast_graph import PROBES

        return np.vstack([self._run_batch([e.ids], session)
                          for e in self._tokenizer.encode_batch(list(PROBES))])

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for ``texts``, in order, from token-bounded batches run shortest
        first (so like lengths share a batch and little is padding)."""
        encoded = [e.ids for e in
                   self._tokenizer.encode_batch([t[:MAX_QUESTION_CHARS] for t in texts])]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        done = [(batch, self._run_batch([encoded[i] for i in batch]))
                for batch in _batches(order, [len(ids) for ids in encoded])]
        out = np.empty((len(encoded), done[0][1].shape[1]), dtype=np.float32)
        for batch, vectors in done:
            out[batch] = vectors
        return out

    def _run_batch(self, encoded: list[list[int]], session: Any = None) -> np.ndarray:
        longest = max(len(ids) for ids in encoded)
        ids = np.full((len(encoded), longest), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encoded), longest), dtype=np.int64)
        for row, tokens in enumerate(encoded):
            ids[row, :len(tokens)] = tokens
            mask[row, :len(tokens)] = 1
        inputs = self._inputs if session is None else {i.name for i in session.get_inputs()}
        session = session or self._session
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        tokens = session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return normalize_rows(pooled, what="embeddings from the local model")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._session is None:
            self._load()
        if not texts:
            return np.empty((0, self._dim), dtype=np.float32)
        return self._run(texts)


def _batches(order: Sequence[int], lengths: Sequence[int]) -> list[list[int]]:
    """``order`` (shortest first) cut into runs whose padded size, count × longest, stays
    within ``MAX_BATCH_TOKENS``; a text alone is one batch whatever its length."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and (len(current) + 1) * max(lengths[i], 1) > MAX_BATCH_TOKENS:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches
