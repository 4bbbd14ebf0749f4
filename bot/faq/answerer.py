"""Text in, ``Answer`` out: the one code path shared by the CLI and the Slack listeners."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bot.config import DEFAULT_NEAR_SCORE
from bot.errors import UserError
from bot.faq.index import top_k
from bot.faq.policy import CHOICE_COUNT, Answer, Decision, Hit, decide, decide_unprompted, nearby
from bot.faq.question import clean_question
from bot.faq.scoring import best_phrasing, mix
from bot.faq.thresholds import effective

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.faq.calibration import Calibration
    from bot.faq.dataset import FaqData
    from bot.faq.embedders import Embedder

log = logging.getLogger(__name__)

CANDIDATES = 5
QUERY_BATCH = 64  # texts per embedder call when many queries are embedded at once
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


def _scores(faq: FaqData, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per phrasing the cosine; per FAQ its best phrasing and its FAQ score (``scoring``)."""
    vector = vector.astype(np.float32)
    phrase_scores = faq.index.matrix @ vector
    cosine = best_phrasing(phrase_scores, faq.starts)
    return phrase_scores, cosine, mix(cosine, faq.mean_directions @ vector)


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest of one row of scores, best first."""
    return top_k(scores[None, :], k)[1][0]


@dataclass(frozen=True)
class _Loaded:
    """One FAQ and the decision that goes with it: replaced whole, never changed in place."""

    faq: FaqData
    min_score: float
    margin: float
    typical: np.ndarray  # each FAQ's typical score (zeros without a calibration)
    near: float  # the looser floor of "Maybe one of these?" on a miss asked directly
    channel_min_score: float  # the stricter point for top-level channel messages
    channel_margin: float
    # The model that made the FAQ's vectors, and its query vectors: swapped with them.
    embedder: Embedder
    cache: VectorCache


class Answerer:
    """Answers from one loaded FAQ. A calibrated dataset (``faq.calibration``) brings its
    learned thresholds and typical scores. For one without, the FAQ score itself is held to
    ``min_score`` and ``margin``: an operator's explicit setting, else (``None``) what the
    dataset stores (``faqbot eval --write``), else the defaults; resolved for every FAQ
    swapped in, so a new Hub commit's stored thresholds apply without a restart.

    Each ``Answer`` carries two decisions: ``decision`` for a question asked directly, and
    ``channel_decision`` for a top-level channel message, at the calibration's stricter
    channel point (or, without one, at the same thresholds but never as choices).

    ``swap`` replaces the FAQ while questions are in flight: each question reads the loaded
    FAQ once, so it is answered wholly from the old FAQ or wholly from the new one.
    """

    def __init__(self, *, faq: FaqData, embedder: Embedder, min_score: float | None = None,
                 margin: float | None = None, cache_size: int = 1024) -> None:
        self._explicit = (min_score, margin)
        self._cache_size = cache_size
        self._loaded = self._load(faq, embedder, VectorCache(cache_size))
        self._health_lock = threading.Lock()
        self._health: tuple[float, bool] | None = None  # (when checked, result)

    def _load(self, faq: FaqData, embedder: Embedder, cache: VectorCache) -> _Loaded:
        """What answering from ``faq`` needs, computed here (by the loader or the watcher),
        not by the first question after a swap."""
        faq.starts  # noqa: B018  (cached on first use)
        faq.mean_directions  # noqa: B018
        calibration = faq.calibration
        if calibration is None:  # the FAQ score against the fixed floor, nothing relative
            chosen = effective(faq.thresholds, *self._explicit)
            return _Loaded(faq, chosen.min_score, chosen.margin,
                           typical=np.zeros(len(faq), np.float32),
                           near=min(DEFAULT_NEAR_SCORE, chosen.min_score),
                           channel_min_score=chosen.min_score, channel_margin=chosen.margin,
                           embedder=embedder, cache=cache)
        channel_min_score, channel_margin = calibration.channel_point()
        return _Loaded(faq, calibration.threshold, calibration.margin,
                       typical=calibration.typical_scores([r.id for r in faq.rows]),
                       near=calibration.near_floor, channel_min_score=channel_min_score,
                       channel_margin=channel_margin, embedder=embedder, cache=cache)

    def swap(self, faq: FaqData, embedder: Embedder | None = None) -> None:
        """Answer from ``faq`` from now on; one reference assignment, so atomic. A new
        ``embedder`` (a re-tuned model) comes in the same assignment, with an empty cache:
        vectors and the model that made them are never served apart."""
        current = self._loaded
        if embedder is None or embedder is current.embedder:
            self._loaded = self._load(faq, current.embedder, current.cache)
        else:
            self._loaded = self._load(faq, embedder, VectorCache(self._cache_size))

    @property
    def embedder(self) -> Embedder:
        return self._loaded.embedder

    @embedder.setter
    def embedder(self, embedder: Embedder) -> None:
        self.swap(self.faq, embedder)

    @property
    def cache(self) -> VectorCache:
        return self._loaded.cache

    @property
    def faq(self) -> FaqData:
        return self._loaded.faq

    @property
    def calibration(self) -> Calibration | None:
        return self._loaded.faq.calibration

    @property
    def min_score(self) -> float:
        return self._loaded.min_score

    @property
    def margin(self) -> float:
        return self._loaded.margin

    @property
    def channel_point(self) -> tuple[float, float]:
        """The threshold and margin a top-level channel message is held to."""
        return self._loaded.channel_min_score, self._loaded.channel_margin

    def embed_query(self, question: str, loaded: _Loaded | None = None) -> np.ndarray:
        loaded = loaded or self._loaded
        cached = loaded.cache.get(question)  # the common case, kept free of any batching
        return cached if cached is not None else self.embed_queries([question],
                                                                    loaded=loaded)[0]

    def embed_queries(self, texts: Sequence[str], *, batch: int = QUERY_BATCH,
                      cache: VectorCache | None = None,
                      loaded: _Loaded | None = None) -> np.ndarray:
        """One vector per text, through ``cache`` (the questions' own by default); misses
        are embedded shortest first, in batches (a batch is padded to its longest text, so
        one long question among short ones would make the whole batch cost as much as long
        ones)."""
        loaded = loaded or self._loaded
        cache = loaded.cache if cache is None else cache
        vectors = {text: cache.get(text) for text in texts}
        missing = sorted((text for text, vector in vectors.items() if vector is None), key=len)
        for start in range(0, len(missing), batch):
            chunk = missing[start:start + batch]
            for text, vector in zip(chunk, loaded.embedder.embed(chunk), strict=True):
                if not np.isfinite(vector).all() or not np.any(vector):
                    raise UserError("the embedder returned an invalid vector (NaN, inf or "
                                    "zero)", "check EMBEDDING_BACKEND and the model files")
                cache.put(text, vector)
                vectors[text] = vector
        return np.stack([vectors[text] for text in texts])

    @staticmethod
    def _hit(loaded: _Loaded, row: int, cosine: np.ndarray, phrase_scores: np.ndarray,
             faq_scores: np.ndarray) -> Hit:
        faq = loaded.faq.rows[row]
        faq_score = float(faq_scores[row])
        decision = faq_score - float(loaded.typical[row])
        return Hit(row=row, id=faq.id, question=faq.question, answer=faq.answer, url=faq.url,
                   score=float(cosine[row]),
                   matched=loaded.faq.matched_phrasing(row, phrase_scores),
                   faq_score=faq_score, decision_score=decision)

    def rank(self, vector: np.ndarray, k: int = CANDIDATES) -> tuple[tuple[Hit, ...],
                                                                     tuple[Hit, ...]]:
        """The FAQs ranked for the decision (best three), and the ``k`` best by cosine."""
        return self._rank(self._loaded, vector, k)

    def _rank(self, loaded: _Loaded, vector: np.ndarray,
              k: int = CANDIDATES) -> tuple[tuple[Hit, ...], tuple[Hit, ...]]:
        """One pass over the phrasing matrix serves both: each FAQ's best phrasing, and its
        mixed FAQ score (see ``scoring``)."""
        phrase_scores, cosine, faq_scores = _scores(loaded.faq, vector)
        candidates = tuple(self._hit(loaded, int(r), cosine, phrase_scores, faq_scores)
                           for r in top_rows(cosine, k))
        ranked = tuple(self._hit(loaded, int(r), cosine, phrase_scores, faq_scores)
                       for r in top_rows(faq_scores, CHOICE_COUNT))
        return ranked, candidates

    def faq_scores(self, vector: np.ndarray) -> tuple[FaqData, np.ndarray]:
        """The loaded FAQ and each of its FAQs' score for ``vector``: what ranking uses."""
        loaded = self._loaded
        return loaded.faq, _scores(loaded.faq, vector)[2]

    def answer_vector(self, vector: np.ndarray, *, truncated: bool = False,
                      question: str = "", loaded: _Loaded | None = None) -> Answer:
        loaded = loaded or self._loaded  # read once: the whole answer comes from one FAQ
        ranked, candidates = self._rank(loaded, vector)
        decision, shown = decide(ranked, min_score=loaded.min_score, margin=loaded.margin)
        near = nearby(ranked, floor=loaded.near) if decision == Decision.NONE else ()
        channel = decide_unprompted(ranked, min_score=loaded.channel_min_score,
                                    margin=loaded.channel_margin)
        return Answer(decision=decision, shown=shown, candidates=candidates,
                      truncated=truncated, question=question, near=near,
                      channel_decision=channel)

    def ask(self, text: str) -> Answer:
        question, truncated = clean_question(text)
        loaded = self._loaded  # one model and its vectors, even across a swap
        return self.answer_vector(self.embed_query(question, loaded), truncated=truncated,
                                  question=question, loaded=loaded)

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
    from the dataset (``faqbot eval --write``), else the default (see ``Answerer``).

    ``patient`` (the servers): with the Inference API, loading (of a dataset without
    embeddings, or with alternates that lack vectors) runs under the build budget, so a
    dyno that boots while the model is still cold waits for it instead of crash-looping.
    One-shot commands keep the live budget and fail within seconds. Questions always get
    the live budget.
    """
    from bot.faq.dataset import load_faq
    from bot.faq.embedders import create_embedder

    if embedder is None:
        embedder = create_embedder(settings)
        loader = (create_embedder(settings, for_build=True, dataset_model=True)
                  if patient and settings.resolved_backend == "api" else embedder)
    else:
        loader = embedder
    faq = load_faq(settings.faq_dataset, loader, revision=settings.faq_dataset_revision,
                   texts=settings.faq_texts, token=settings.hf_token, progress=progress)
    return Answerer(faq=faq, embedder=embedder, min_score=settings.answer_min_score,
                    margin=settings.answer_margin)
