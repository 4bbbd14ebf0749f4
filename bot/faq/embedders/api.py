"""Embeddings from the Hugging Face Inference API or a text-embeddings-inference server.

Why this shape: most deployments run with no model in the dyno, so this client must ride
out what remote APIs do (cold models, rate limits, outages, slow or garbled answers)
inside a time budget a Slack user can wait for, and never leak the token. Transient
failures are retried by tenacity; everything else stops at once with a message naming
the cause and the fix (see ``api_errors``). Payloads are checked by ``api_vectors``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

import numpy as np
import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from tenacity import RetryCallState, Retrying, retry_if_exception_type
from tenacity.wait import wait_exponential, wait_random

from bot.errors import EmbeddingServiceError, UserError
from bot.faq.embedders.api_errors import (
    RetryableFailure,
    Target,
    failure_for_exception,
    failure_for_status,
)
from bot.faq.embedders.api_vectors import InvalidVectors, decode, unit_rows

# The service truncates to its token limit anyway; this bounds what is sent.
from bot.faq.question import MAX_QUESTION_CHARS
from bot.urls import display_url

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

BATCH_SIZE = 32  # TEI's default --max-client-batch-size
POOL_SIZE = 16  # connections kept alive, enough for the listener threads
MIN_TIMEOUT = 0.05  # an attempt started just before the deadline still gets this long
DIM_PROBE = "dimension probe"
PROBE_QUESTION = "How do I reset my password?"


@dataclass(frozen=True)
class RetryPolicy:
    """How long one call may take in total, and how to wait between attempts.

    ``budget`` bounds sleeps and attempts together; each attempt's timeouts shrink to
    what is left of it. Backoff waits ``backoff * 2**retry`` (at most ``max_backoff``)
    plus up to ``backoff`` of jitter, unless the server said how long to wait.
    ``sleep`` and ``clock`` are injectable so tests can run in virtual time.
    """

    budget: float
    connect_timeout: float
    read_timeout: float
    backoff: float
    max_backoff: float
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


# A live question: someone in Slack is waiting.
LIVE = RetryPolicy(budget=10.0, connect_timeout=3.0, read_timeout=4.0, backoff=0.5,
                   max_backoff=4.0)
# `faqbot build`: worth waiting for a cold model or the end of a rate-limit window.
BUILD = RetryPolicy(budget=120.0, connect_timeout=5.0, read_timeout=30.0, backoff=1.0,
                    max_backoff=30.0)


class BearerAuth(AuthBase):
    """Adds ``Authorization: Bearer …``; as session auth it also stops ~/.netrc overriding it,
    and requests drops it on a redirect to another host."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<redacted>)"


def _check_token(token: str) -> None:
    """Refuse a token requests would reject, since its error message quotes the header."""
    if token and not (token.isascii() and token.isprintable() and " " not in token):
        raise UserError("HF_TOKEN contains spaces or control characters",
                        "copy the token again from https://huggingface.co/settings/tokens")


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"INFERENCE_API_URL={display_url(url)!r} is not an http(s) URL",
                        "set it to a feature-extraction URL or a text-embeddings-inference "
                        "/embed URL, or unset it")


def _session(token: str) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=POOL_SIZE, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"Content-Type": "application/json", "Accept": "application/json",
                            "User-Agent": "faqbot"})
    if token:
        session.auth = BearerAuth(token)
    return session


class InferenceApiEmbedder:
    """An ``Embedder`` over HTTP. Share one per process: it is thread-safe and pools connections.

    ``dim`` is learned from the first answer (or one probe request) and every later answer
    must match it.
    """

    def __init__(self, *, url: str, model_id: str, token: str = "", policy: RetryPolicy = LIVE,
                 batch_size: int = BATCH_SIZE) -> None:
        _check_token(token)
        self._url = url.replace("{model}", model_id)
        _check_url(self._url)
        self.model_id = model_id
        self.policy = policy
        self.batch_size = batch_size
        self._target = Target(url=display_url(self._url), model_id=model_id, token=token)
        self.service_url = self._target.url  # safe to show: no credentials, no query
        self._session = _session(token)
        self._backoff = (wait_exponential(multiplier=policy.backoff, max=policy.max_backoff)
                         + wait_random(0, policy.backoff))
        self._dim = 0

    @classmethod
    def from_settings(cls, settings: Settings, *, for_build: bool = False,
                      policy: RetryPolicy | None = None,
                      model_id: str = "") -> InferenceApiEmbedder:
        """The live budget by default; ``for_build`` waits longer (see ``BUILD``).
        ``model_id`` names a model other than EMBEDDING_MODEL (a dataset's own)."""
        host = urlsplit(settings.inference_api_url).hostname or ""
        if not settings.hf_token and host.endswith("huggingface.co"):
            raise UserError("EMBEDDING_BACKEND=api with the Hugging Face router needs HF_TOKEN",
                            "set HF_TOKEN to a token with the Inference Providers permission, "
                            "or set EMBEDDING_BACKEND=local")
        return cls(url=settings.inference_api_url,
                   model_id=model_id or settings.embedding_model,
                   token=settings.hf_token,
                   policy=policy or (BUILD if for_build else LIVE))

    def __repr__(self) -> str:
        token = "set" if self._target.token else "unset"
        return (f"InferenceApiEmbedder(model_id={self.model_id!r}, url={self.service_url!r}, "
                f"token={token})")

    def info(self) -> dict | None:
        """What a text-embeddings-inference server says it serves (``GET /info``), or None
        where the URL isn't TEI's ``/embed`` or the server doesn't say."""
        parts = urlsplit(self._url)
        if not parts.path.rstrip("/").endswith("/embed"):
            return None
        url = parts._replace(path=parts.path.rstrip("/")[:-len("embed")] + "info").geturl()
        try:
            response = self._session.get(url, timeout=(self.policy.connect_timeout,
                                                       self.policy.read_timeout))
            info = response.json() if response.ok else None
        except (requests.RequestException, ValueError):
            return None
        return info if isinstance(info, dict) else None

    @property
    def dim(self) -> int:
        if not self._dim:
            self.embed([DIM_PROBE])
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 unit rows, in requests of at most ``batch_size`` texts."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        size = self.batch_size
        parts = [self._embed_batch([t[:MAX_QUESTION_CHARS] for t in texts[i:i + size]])
                 for i in range(0, len(texts), size)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        policy = self.policy
        started = policy.clock()
        deadline = started + policy.budget
        retrying = Retrying(
            sleep=policy.sleep,
            retry=retry_if_exception_type(RetryableFailure),
            wait=self._wait,
            stop=lambda state: policy.clock() + state.upcoming_sleep >= deadline,
            before_sleep=self._log_retry,
            retry_error_callback=partial(self._give_up, started),
        )
        body = json.dumps({"inputs": texts, "truncate": True}).encode("utf-8")
        payload = retrying(self._post, body, deadline)
        try:
            vectors = unit_rows(payload, len(texts), self._dim)
        except InvalidVectors as invalid:
            raise EmbeddingServiceError(self._unusable(invalid), self._fix) from None
        self._dim = vectors.shape[1]
        return vectors

    def _post(self, body: bytes, deadline: float) -> object:
        """One attempt: the answer's JSON, or a RetryableFailure / EmbeddingServiceError."""
        left = max(deadline - self.policy.clock(), MIN_TIMEOUT)
        timeout = (min(self.policy.connect_timeout, left), min(self.policy.read_timeout, left))
        try:
            response = self._session.post(self._url, data=body, timeout=timeout)
        except requests.RequestException as exc:
            raise failure_for_exception(exc, self._target, timeout) from None
        if not 200 <= response.status_code < 300:
            raise failure_for_status(response, self._target)
        try:
            return decode(response.content, response.headers.get("Content-Type", ""))
        except InvalidVectors as invalid:
            # A 200 that isn't JSON is what a proxy or load balancer serves during a blip
            # (an HTML error page): worth another attempt, like a 5xx. JSON of the wrong
            # shape is the service's real answer, so that stops at once (in _embed_batch).
            raise RetryableFailure(self._unusable(invalid), self._fix) from None

    def _unusable(self, invalid: InvalidVectors) -> str:
        return f"{self._target.url} sent an unusable answer: {invalid}"

    @property
    def _fix(self) -> str:
        return (f"point INFERENCE_API_URL at a feature-extraction or text-embeddings-inference "
                f"/embed endpoint serving {self.model_id}")

    def _wait(self, state: RetryCallState) -> float:
        """The server's Retry-After / estimated_time when it gave one, else backoff."""
        failure = state.outcome.exception() if state.outcome else None
        hint = failure.wait if isinstance(failure, RetryableFailure) else None
        return hint if hint is not None else self._backoff(state)

    def _log_retry(self, state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        log.warning("embedding attempt %d failed: %s; retrying in %.1f s", state.attempt_number,
                    getattr(failure, "reason", type(failure).__name__), state.upcoming_sleep)

    def _give_up(self, started: float, state: RetryCallState) -> NoReturn:
        failure = state.outcome.exception() if state.outcome else None
        assert isinstance(failure, RetryableFailure)  # the only exception tenacity retries
        elapsed = self.policy.clock() - started
        attempts = f"{state.attempt_number} attempt{'s' if state.attempt_number > 1 else ''}"
        raise EmbeddingServiceError(
            f"{failure.reason}; gave up after {attempts} in {elapsed:.1f} s, as waiting "
            f"{state.upcoming_sleep:.1f} s more would pass the {self.policy.budget:.0f} s limit",
            failure.fix)


def probe(settings: Settings, *, policy: RetryPolicy | None = None) -> str:
    """For ``faqbot check``: embed one short question; what answered, or a ``UserError``
    naming the cause."""
    embedder = InferenceApiEmbedder.from_settings(settings, policy=policy)
    started = time.perf_counter()
    vectors = embedder.embed([PROBE_QUESTION])
    elapsed_ms = (time.perf_counter() - started) * 1000
    return (f"{embedder.model_id} at {embedder.service_url} answered a "
            f"{vectors.shape[1]}-dimensional vector in {elapsed_ms:.0f} ms")

