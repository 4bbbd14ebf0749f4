"""Text in, ``Answer`` out: the one code path shared by the CLI and the Slack listeners."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

from bot.errors import UserError
from bot.faq.background import Background
from bot.faq.policy import Answer, Hit, decide
from bot.faq.question import clean_question

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.faq.dataset import FaqData
    from bot.faq.embedders import Embedder

log = logging.getLogger(__name__)

CANDIDATES = 5
# /healthz asks the embedder itself at most this often; platforms poll every few seconds.
HEALTH_INTERVAL_SECONDS = 30.0


class VectorCache:
    """A small thread-safe LRU of query vectors, so a repeated question is not re-embedded."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            vector = self._items.get(key)
            if vector is not None:
                self._items.move_to_end(key)
            return vector

    def put(self, key: str, vector: np.ndarray) -> None:
        with self._lock:
            self._items[key] = vector
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class Answerer:
    def __init__(self, *, faq: FaqData, embedder: Embedder, min_score: float, margin: float,
                 background: Background | None = None, cache_size: int = 1024) -> None:
        self.faq = faq
        self.embedder = embedder
        self.min_score = min_score
        self.margin = margin
        self.background = background
        self.cache = VectorCache(cache_size)
        self._health_lock = threading.Lock()
        self._health: tuple[float, bool] | None = None  # (when checked, result)

    def embed_query(self, question: str) -> np.ndarray:
        vector = self.cache.get(question)
        if vector is None:
            vector = self.embedder.embed([question])[0]
            if not np.isfinite(vector).all() or not np.any(vector):
                raise UserError("the embedder returned an invalid vector (NaN, inf or zero)",
                                "check EMBEDDING_BACKEND and the model files")
            self.cache.put(question, vector)
        return vector

    def candidates(self, vector: np.ndarray, k: int = CANDIDATES) -> tuple[Hit, ...]:
        """The best ``k`` distinct FAQs; each scores as its best-matching phrasing."""
        faq_data = self.faq
        depth = min(faq_data.index.size, k * faq_data.max_phrasings)
        scores, phrasings = faq_data.index.search(vector[None, :], depth)
        best: dict[int, Hit] = {}
        for score, phrasing in zip(scores[0].tolist(), phrasings[0].tolist(), strict=True):
            row = faq_data.row_of(phrasing)
            if row not in best:
                faq = faq_data.rows[row]
                best[row] = Hit(row=row, id=faq.id, question=faq.question, answer=faq.answer,
                                url=faq.url, score=float(score),
                                matched=faq_data.phrasing_text(phrasing))
                if len(best) == k:
                    break
        return tuple(best.values())

    def ask(self, text: str) -> Answer:
        question, truncated = clean_question(text)
        vector = self.embed_query(question)
        hits = self.candidates(vector)
        background = self.background.score(vector) if self.background else -1.0
        decision, shown = decide(hits, min_score=self.min_score, margin=self.margin,
                                 background=background)
        return Answer(decision=decision, shown=shown, candidates=hits, truncated=truncated,
                      question=question)

    def ready(self) -> bool:
        """True when the embedder answered a fresh (uncached) request recently; /healthz.

        At most one real request per ``HEALTH_INTERVAL_SECONDS``: enough to notice an
        outage of the embedding service, cheap enough for a platform's frequent polls.
        """
        now = time.monotonic()
        with self._health_lock:
            if self._health and now - self._health[0] < HEALTH_INTERVAL_SECONDS:
                return self._health[1]
            self._health = (now, self._health[1] if self._health else False)
        try:
            ok = self.embedder.embed(["health check"]).shape == (1, self.faq.index.dim)
        except UserError as error:
            log.warning("health check: the embedder failed: %s", error.problem)
            ok = False
        with self._health_lock:
            self._health = (now, ok)
        return ok


def load_answerer(settings: Settings, *, embedder: Embedder | None = None,
                  progress=None, patient: bool = False) -> Answerer:
    """Load the configured dataset and embedder into a ready ``Answerer``.

    ``patient`` (the servers): with the Inference API, loading (the background phrases, and
    a dataset without embeddings) runs under the build budget, so a dyno that boots while
    the model is still cold waits for it instead of crash-looping. One-shot commands keep
    the live budget and fail within seconds. Questions always get the live budget.
    """
    from bot.faq.dataset import load_faq
    from bot.faq.embedders import create_embedder

    if embedder is None:
        embedder = create_embedder(settings)
        loader = (create_embedder(settings, for_build=True)
                  if patient and settings.resolved_backend == "api" else embedder)
    else:
        loader = embedder
    faq = load_faq(settings.faq_dataset, loader, revision=settings.faq_dataset_revision,
                   texts=settings.faq_texts, token=settings.hf_token, progress=progress)
    background = Background.for_faq(loader, faq.index.matrix)
    return Answerer(faq=faq, embedder=embedder, min_score=settings.answer_min_score,
                    margin=settings.answer_margin, background=background)
