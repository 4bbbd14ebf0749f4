"""Text in, ``Answer`` out: the one code path shared by the CLI and the Slack listeners."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

from bot.errors import UserError
from bot.faq.index import top_k
from bot.faq.policy import CHOICE_COUNT, Answer, Hit, decide
from bot.faq.question import clean_question
from bot.faq.scoring import best_phrasing, mix

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


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest of one row of scores, best first."""
    return top_k(scores[None, :], k)[1][0]


class Answerer:
    """Answers from one loaded FAQ. A calibrated dataset (``faq.calibration``) brings its
    learned thresholds; ``min_score`` and ``margin`` apply to one without."""

    def __init__(self, *, faq: FaqData, embedder: Embedder, min_score: float, margin: float,
                 cache_size: int = 1024) -> None:
        self.faq = faq
        self.embedder = embedder
        self.calibration = faq.calibration
        if self.calibration is None:
            self.min_score, self.margin = min_score, margin
            self._typical = None
        else:
            self.min_score, self.margin = self.calibration.threshold, self.calibration.margin
            self._typical = self.calibration.typical_scores([r.id for r in faq.rows])
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

    def _hit(self, row: int, cosine: np.ndarray, phrase_scores: np.ndarray,
             faq_scores: np.ndarray | None) -> Hit:
        faq = self.faq.rows[row]
        faq_score = decision = None
        if faq_scores is not None and self._typical is not None:
            faq_score = float(faq_scores[row])
            decision = faq_score - float(self._typical[row])
        return Hit(row=row, id=faq.id, question=faq.question, answer=faq.answer, url=faq.url,
                   score=float(cosine[row]),
                   matched=self.faq.matched_phrasing(row, phrase_scores),
                   faq_score=faq_score, decision_score=decision)

    def rank(self, vector: np.ndarray, k: int = CANDIDATES) -> tuple[tuple[Hit, ...],
                                                                     tuple[Hit, ...]]:
        """The FAQs ranked for the decision (best three), and the ``k`` best by cosine.

        One pass over the phrasing matrix serves both: each FAQ's best phrasing, and with a
        calibrated dataset, its mixed FAQ score (see ``scoring``).
        """
        vector = vector.astype(np.float32)
        phrase_scores = self.faq.index.matrix @ vector
        cosine = best_phrasing(phrase_scores, self.faq.starts)
        faq_scores = None
        if self._typical is not None:
            faq_scores = mix(cosine, self.faq.mean_directions @ vector)
        candidates = tuple(self._hit(int(r), cosine, phrase_scores, faq_scores)
                           for r in top_rows(cosine, k))
        if faq_scores is None:
            return candidates[:CHOICE_COUNT], candidates
        ranked = tuple(self._hit(int(r), cosine, phrase_scores, faq_scores)
                       for r in top_rows(faq_scores, CHOICE_COUNT))
        return ranked, candidates

    def answer_vector(self, vector: np.ndarray, *, truncated: bool = False,
                      question: str = "") -> Answer:
        ranked, candidates = self.rank(vector)
        decision, shown = decide(ranked, min_score=self.min_score, margin=self.margin)
        return Answer(decision=decision, shown=shown, candidates=candidates,
                      truncated=truncated, question=question)

    def ask(self, text: str) -> Answer:
        question, truncated = clean_question(text)
        return self.answer_vector(self.embed_query(question), truncated=truncated,
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

    Without calibration, each threshold comes from the environment when set there, else
    from the dataset (``faqbot eval --write``), else the default (``thresholds.effective``).

    ``patient`` (the servers): with the Inference API, loading (of a dataset without
    embeddings, or with alternates that lack vectors) runs under the build budget, so a
    dyno that boots while the model is still cold waits for it instead of crash-looping.
    One-shot commands keep the live budget and fail within seconds. Questions always get
    the live budget.
    """
    from bot.faq.dataset import load_faq
    from bot.faq.embedders import create_embedder
    from bot.faq.thresholds import effective

    if embedder is None:
        embedder = create_embedder(settings)
        loader = (create_embedder(settings, for_build=True)
                  if patient and settings.resolved_backend == "api" else embedder)
    else:
        loader = embedder
    faq = load_faq(settings.faq_dataset, loader, revision=settings.faq_dataset_revision,
                   texts=settings.faq_texts, token=settings.hf_token, progress=progress)
    thresholds = effective(faq.thresholds, settings.answer_min_score, settings.answer_margin)
    return Answerer(faq=faq, embedder=embedder, min_score=thresholds.min_score,
                    margin=thresholds.margin)
