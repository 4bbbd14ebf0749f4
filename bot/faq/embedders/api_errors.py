"""What each failure of a remote embedding service means, and what the user should do.

Why a module of its own: this table is what users read in docs/reliability.md, and keeping it
apart from the transport keeps both short. Nothing here ever sees the token except
``Target.scrub``, which removes it from text a server sent back.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import requests

from bot.config import DEFAULT_INFERENCE_API_URL
from bot.errors import EmbeddingServiceError

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
DETAIL_CHARS = 160
REDACTED = "<redacted>"
TOKEN_URL = "https://huggingface.co/settings/tokens"
OUTAGE_FIX = ("try again later (see https://status.huggingface.co), "
              "or set EMBEDDING_BACKEND=local")


@dataclass(frozen=True)
class Target:
    """What a message may name: the service URL (displayable form) and the model."""

    url: str
    model_id: str
    token: str = field(default="", repr=False)

    def scrub(self, text: str) -> str:
        """Remove the token from text a server echoed back."""
        return text.replace(self.token, REDACTED) if self.token else text


class RetryableFailure(Exception):
    """A failure worth another attempt. ``wait`` is the server's own hint in seconds."""

    def __init__(self, reason: str, fix: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix
        self.wait = wait


def _detail(response: requests.Response, target: Target) -> str:
    """The server's error text (``error`` or ``message`` of a JSON body), short and scrubbed."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        body = body.get("error") or body.get("message") or ""
    if isinstance(body, list):
        body = "; ".join(str(item) for item in body)
    text = " ".join(target.scrub(str(body)).split())
    if len(text) > DETAIL_CHARS:
        text = text[:DETAIL_CHARS] + "…"
    return f": {text}" if text else ""


def _seconds(value: object) -> float | None:
    """A positive finite number of seconds, or None."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if 0 < seconds < float("inf") else None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds asked for by ``Retry-After``: delay-seconds or an HTTP-date."""
    value = headers.get("Retry-After", "").strip()
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0) if when.tzinfo else None


def estimated_time(response: requests.Response) -> float | None:
    """hf-inference's cold-start hint: ``{"error": "Model … is loading", "estimated_time": s}``."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return _seconds(body.get("estimated_time")) if isinstance(body, dict) else None


def _retryable(status: int, response: requests.Response, target: Target) -> RetryableFailure:
    wait = retry_after(response.headers)
    if status == 429:
        asked = f", Retry-After {wait:.1f} s" if wait is not None else ""
        return RetryableFailure(
            f"{target.url} is rate-limiting this account (HTTP 429{asked})",
            "wait a minute and try again; for steady traffic use a PRO account, an Inference "
            "Endpoint or your own text-embeddings-inference server", wait)
    loading = estimated_time(response) if status == 503 else None
    if loading is not None:
        return RetryableFailure(
            f"the model {target.model_id} is still loading (HTTP 503, estimated {loading:.1f} s)",
            "try again in a minute: the service loads a cold model on first use",
            wait if wait is not None else loading)
    return RetryableFailure(f"{target.url} failed with HTTP {status}{_detail(response, target)}",
                            OUTAGE_FIX, wait)


def _fatal(status: int, response: requests.Response, target: Target) -> EmbeddingServiceError:
    url, model, detail = target.url, target.model_id, _detail(response, target)
    if status == 400:
        return EmbeddingServiceError(
            f"{url} rejected the request as malformed (HTTP 400{detail})",
            "point INFERENCE_API_URL at a feature-extraction URL or a "
            "text-embeddings-inference /embed URL")
    if status == 401:
        problem = (f"{url} rejected HF_TOKEN as invalid or expired (HTTP 401)" if target.token
                   else f"{url} needs a token (HTTP 401) and HF_TOKEN is not set")
        return EmbeddingServiceError(problem, f"create a token at {TOKEN_URL} and set HF_TOKEN")
    if status == 402:
        return EmbeddingServiceError(
            "the Hugging Face account of HF_TOKEN has used up its Inference Providers credits "
            "(HTTP 402)",
            "add credits or a PRO plan at https://huggingface.co/settings/billing, "
            "or set EMBEDDING_BACKEND=local")
    if status == 403:
        return EmbeddingServiceError(
            "HF_TOKEN lacks the 'Make calls to Inference Providers' permission, or may not use "
            f"{model} (HTTP 403)",
            f"at {TOKEN_URL} create a fine-grained token with that permission and set HF_TOKEN")
    if status == 404:
        return EmbeddingServiceError(
            f"the model {model} is not served at {url} (HTTP 404)",
            "check EMBEDDING_MODEL and INFERENCE_API_URL: choose a model deployed for "
            "feature-extraction, or serve it yourself with text-embeddings-inference")
    if status == 410:
        return EmbeddingServiceError(
            f"{url} is the retired serverless Inference API (HTTP 410 Gone)",
            f"set INFERENCE_API_URL to {DEFAULT_INFERENCE_API_URL}, or unset it")
    if status in (413, 422):
        return EmbeddingServiceError(
            f"an input is too long or the batch too big for {url} (HTTP {status}{detail})",
            "shorten the FAQ text; on a text-embeddings-inference server raise "
            "--max-client-batch-size to 32 or more and --max-batch-tokens")
    return EmbeddingServiceError(f"{url} answered HTTP {status}{detail}",
                                 "check INFERENCE_API_URL and EMBEDDING_MODEL")


def failure_for_status(response: requests.Response,
                       target: Target) -> RetryableFailure | EmbeddingServiceError:
    """Classify a non-2xx answer: retry it, or stop with a message naming cause and fix."""
    status = response.status_code
    if status in RETRYABLE_STATUSES:
        return _retryable(status, response, target)
    return _fatal(status, response, target)


def failure_for_exception(exc: requests.RequestException, target: Target,
                          timeout: tuple[float, float]) -> RetryableFailure | EmbeddingServiceError:
    """Classify a transport error. Only the exception's type is shown: never its text."""
    name = type(exc).__name__
    network_fix = ("check that INFERENCE_API_URL is right and reachable from here "
                   "(network, proxy, firewall), or set EMBEDDING_BACKEND=local")
    if isinstance(exc, requests.ConnectTimeout):
        return RetryableFailure(f"could not connect to {target.url} within {timeout[0]:g} s",
                                network_fix)
    if isinstance(exc, requests.Timeout):
        return RetryableFailure(f"{target.url} did not answer within {timeout[1]:g} s",
                                OUTAGE_FIX)
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return RetryableFailure(f"the connection to {target.url} failed ({name})", network_fix)
    return EmbeddingServiceError(f"cannot call {target.url} ({name})",
                                 "set INFERENCE_API_URL to an http(s) feature-extraction URL")
