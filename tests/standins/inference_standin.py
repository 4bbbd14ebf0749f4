"""A local stand-in for the Hugging Face Inference API and text-embeddings-inference (TEI).

Why: the remote embedding client must be tested against the failure modes of the real
services (cold-start 503s, 429 rate limits, timeouts, dropped connections, malformed
answers) without network access, tokens or flakiness. This server speaks just enough of
both wire formats and lets a test queue faults that are consumed one per request.

Routes (127.0.0.1, ephemeral port):

* ``POST /hf-inference/models/<org>/<name>/pipeline/feature-extraction`` with
  ``{"inputs": str | list[str], ...}``; answers ``n × d`` for a list, a flat ``d`` list
  for a single string (like the router's hf-inference provider).
* ``POST /embed`` (TEI) with ``{"inputs": str | list[str], "normalize"?, "truncate"?}``;
  always answers ``n × d``.
* ``GET /health`` (TEI) answers 200 with an empty body.
* ``GET /info`` (TEI) answers the ``info`` given (what model it serves), else 404.

Nothing is ever printed or logged, so the Authorization header cannot leak.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from tests.standins.lifecycle import HOST, ThreadedHTTPStandIn

__all__ = ["Fault", "InferenceStandIn", "Request", "hash_embed"]

EmbedFn = Callable[[list[str]], np.ndarray]

HF_ROUTE = re.compile(r"^/hf-inference/models/([^/]+(?:/[^/]+)?)/pipeline/feature-extraction/?$")
TEI_ROUTE = "/embed"
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
REDACTED = "<redacted>"
TOKEN_ROWS = 3  # fake tokens per input for Fault.token_level()

_KINDS = frozenset(
    {"status", "slow", "drop", "garbage", "wrong_dim", "wrong_count", "nan", "token_level"}
)


def hash_embed(texts: list[str], dim: int = 384) -> np.ndarray:
    """Deterministic fake embedder: one sha256-seeded random unit vector per text.

    Why: tests of the transport need stable, distinct vectors without loading a model.
    """
    out = np.empty((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
        vec = np.random.default_rng(seed).standard_normal(dim)
        out[i] = vec / np.linalg.norm(vec)
    return out


@dataclass(frozen=True)
class Request:
    """One request as the stand-in saw it, so tests can assert on retries and payloads.

    ``headers`` has any Authorization value replaced by ``"<redacted>"``; ``authorized``
    tells whether it matched the configured token (None when no token is configured).
    ``time`` is ``time.monotonic()`` at arrival, for checking backoff intervals.
    """

    path: str
    body: dict[str, Any] | None
    headers: dict[str, str]
    time: float
    method: str = "POST"
    authorized: bool | None = None


@dataclass(frozen=True)
class Fault:
    """One programmed misbehaviour, consumed by exactly one embedding request.

    Build with the classmethods (``Fault.status(503, ...)``, ``Fault.slow(0.5)``, ...)
    rather than by hand; ``kind`` names the behaviour and ``params`` its arguments.
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(_KINDS)}")

    @classmethod
    def status(
        cls,
        code: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Answer ``code`` with a JSON body (default ``{"error": <reason phrase>}``)."""
        return cls("status", {"code": code, "body": body, "headers": headers or {}})

    @classmethod
    def loading(cls, estimated_time: float = 0.2) -> Fault:
        """The hf-inference cold start: 503 ``Model is loading`` with ``estimated_time``."""
        return cls.status(503, {"error": "Model is loading", "estimated_time": estimated_time})

    @classmethod
    def rate_limited(cls, retry_after: str | None = "1") -> Fault:
        """429 with an optional ``Retry-After`` header (seconds, as a string)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return cls.status(429, {"error": "Rate limit reached"}, headers)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Wait ``seconds`` and then answer normally, to trip the client's read timeout."""
        return cls("slow", {"seconds": seconds})

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without any response (client sees a ConnectionError)."""
        return cls("drop")

    @classmethod
    def garbage(
        cls, body: bytes = b"<html>bad gateway</html>", content_type: str = "text/html"
    ) -> Fault:
        """Answer 200 with a non-JSON body, as a misbehaving proxy would."""
        return cls("garbage", {"body": body, "content_type": content_type})

    @classmethod
    def wrong_dim(cls, d: int = 383) -> Fault:
        """Answer 200 with vectors truncated or zero-padded to dimension ``d``."""
        return cls("wrong_dim", {"d": d})

    @classmethod
    def wrong_count(cls) -> Fault:
        """Answer 200 with one vector fewer than inputs (two vectors for a single string)."""
        return cls("wrong_count")

    @classmethod
    def nan(cls) -> Fault:
        """Answer 200 with a NaN in the first vector (serialized as bare ``NaN``)."""
        return cls("nan")

    @classmethod
    def token_level(cls) -> Fault:
        """Answer 200 with token-level output ``n × 3 × d`` whose mean over tokens is the
        normal vector, as models without a pooling layer do (``1 × 3 × d`` for a string)."""
        return cls("token_level")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: InferenceStandIn


class _Handler(BaseHTTPRequestHandler):
    """Speaks the two wire formats; all state lives on the InferenceStandIn."""

    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like the real services
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK
    # stalls every answer by ~40 ms, which real servers don't do.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log (it must never show credentials)."""

    def setup(self) -> None:
        super().setup()
        self.server.standin._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            with contextlib.suppress(OSError):
                super().finish()
        finally:
            self.server.standin._track(self.connection, add=False)

    # --- verbs -----------------------------------------------------------------------

    def do_GET(self) -> None:
        standin = self.server.standin
        authorized = standin._check_auth(self.headers.get("Authorization"))
        standin._record(self._request_record(None, "GET", authorized))
        if authorized is False:
            self._send_json(401, {"error": INVALID_CREDENTIALS})
        elif self.path == "/health":
            self._send(200, b"", "text/plain")
        elif self.path == "/info" and standin.info is not None:
            self._send_json(200, standin.info)
        else:
            self._send_json(404, {"error": "Not Found"})

    def do_POST(self) -> None:
        standin = self.server.standin
        raw = self._read_body()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else None
        authorized = standin._check_auth(self.headers.get("Authorization"))
        standin._record(self._request_record(body, "POST", authorized))

        if authorized is False:
            self._send_json(401, {"error": INVALID_CREDENTIALS})
            return
        path = self.path.split("?", 1)[0]
        if HF_ROUTE.match(path):
            flavour = "hf"
        elif path.rstrip("/") == TEI_ROUTE:
            flavour = "tei"
        else:
            self._send_json(404, {"error": "Not Found"})
            return

        fault = standin._next_fault()
        if fault is not None and self._apply_transport_fault(fault):
            return

        texts, single = _parse_inputs(body)
        if texts is None:
            self._send_json(422, {"error": single, "error_type": "validation"})
            return
        try:
            vectors = np.asarray(standin.embed_fn(texts), dtype=np.float32)
        except Exception as exc:  # the embedder is test code; report, don't crash
            self._send_json(500, {"error": f"embedder failed: {exc}"})
            return
        if flavour == "tei" and (body or {}).get("normalize", True):
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms == 0, 1, norms)
        payload = _shape_payload(vectors, single=single and flavour == "hf", fault=fault)
        self._send_json(200, payload)

    # --- helpers ---------------------------------------------------------------------

    def _apply_transport_fault(self, fault: Fault) -> bool:
        """Handle faults that replace or delay the answer; True if the answer was sent."""
        params = fault.params
        if fault.kind == "status":
            code = params["code"]
            body = params["body"]
            if body is None:
                body = {"error": HTTPStatus(code).phrase}
            self._send_json(code, body, params["headers"])
            return True
        if fault.kind == "slow":
            self.server.standin._stopping.wait(params["seconds"])
            return False
        if fault.kind == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
            return True
        if fault.kind == "garbage":
            self._send(200, params["body"], params["content_type"])
            return True
        return False  # payload faults are applied by _shape_payload

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _request_record(
        self, body: dict[str, Any] | None, method: str, authorized: bool | None
    ) -> Request:
        headers = {
            k: (REDACTED if k.lower() == "authorization" else v) for k, v in self.headers.items()
        }
        return Request(self.path, body, headers, time.monotonic(), method, authorized)

    def _send_json(self, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(code, json.dumps(obj).encode("utf-8"), "application/json", headers)

    def _send(
        self,
        code: int,
        payload: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # client gave up (e.g. read timeout during a slow fault)
            self.close_connection = True


def _parse_inputs(body: dict[str, Any] | None) -> tuple[list[str] | None, Any]:
    """Return (texts, single) or (None, error message) for an invalid body."""
    if body is None:
        return None, "Failed to deserialize the JSON body"
    inputs = body.get("inputs")
    if isinstance(inputs, str):
        return [inputs], True
    if isinstance(inputs, list) and inputs and all(isinstance(t, str) for t in inputs):
        return inputs, False
    if isinstance(inputs, list) and not inputs:
        return None, "`inputs` cannot be empty"
    return None, "`inputs` must be a string or a list of strings"


def _shape_payload(vectors: np.ndarray, *, single: bool, fault: Fault | None) -> Any:
    """Turn an (n, d) array into the route's JSON shape, applying any payload fault."""
    if fault is not None and fault.kind == "wrong_dim":
        d = int(fault.params["d"])
        fixed = np.zeros((vectors.shape[0], d), dtype=np.float32)
        keep = min(d, vectors.shape[1])
        fixed[:, :keep] = vectors[:, :keep]
        vectors = fixed
    elif fault is not None and fault.kind == "nan":
        vectors = vectors.copy()
        vectors[0, 0] = np.nan
    elif fault is not None and fault.kind == "wrong_count":
        if vectors.shape[0] == 1:
            return np.vstack([vectors, vectors]).tolist()
        return vectors[:-1].tolist()
    elif fault is not None and fault.kind == "token_level":
        # TOKEN_ROWS rows per input: v + a, v - a, v, so the mean over tokens is v.
        offset = np.where(np.arange(vectors.shape[1]) % 2 == 0, 0.05, -0.05).astype(np.float32)
        return np.stack([vectors + offset, vectors - offset, vectors], axis=1).tolist()
    return vectors[0].tolist() if single else vectors.tolist()


class InferenceStandIn(ThreadedHTTPStandIn):
    """Serve both embedding APIs from ``embed_fn`` on 127.0.0.1, with programmable faults.

    Use as a context manager (or call start()/stop()). ``embed_fn`` takes a list of texts
    and returns an (n, d) float32 array. If ``token`` is set, any request whose
    Authorization header is not exactly ``Bearer <token>`` gets a 401.
    """

    def __init__(self, embed_fn: EmbedFn, *, token: str | None = None,
                 info: dict[str, Any] | None = None) -> None:
        self.embed_fn = embed_fn
        self.info = info  # TEI's GET /info answer
        self._token = token
        self._lock = threading.Lock()
        self._taken = threading.Condition(self._lock)  # notified when a fault is consumed
        self._faults: deque[Fault] = deque()
        self._requests: list[Request] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()

    def __repr__(self) -> str:  # never show the token
        state = f"port={self.port}" if self._server else "stopped"
        return f"InferenceStandIn({state}, auth={'on' if self._token else 'off'})"

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> InferenceStandIn:
        """Bind an ephemeral port on 127.0.0.1 and serve from a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((HOST, 0), _Handler)
        server.standin = self
        self._serve(server, name=f"inference-standin-{server.server_address[1]}",
                    poll_interval=0.02)
        return self

    def stop(self) -> None:
        """Stop serving and close open keep-alive connections (slow faults are cut short)."""
        self._stopping.set()
        super().stop()

    def _before_close(self) -> None:
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    # --- addresses -------------------------------------------------------------------

    @property
    def hf_url(self) -> str:
        """Feature-extraction URL template; the client substitutes the literal ``{model}``."""
        return f"{self.base_url}/hf-inference/models/{{model}}/pipeline/feature-extraction"

    @property
    def tei_url(self) -> str:
        return f"{self.base_url}{TEI_ROUTE}"

    # --- faults and records ----------------------------------------------------------

    def queue(self, *faults: Fault) -> None:
        """Append faults; each authorized request to an embedding route consumes one."""
        for fault in faults:
            if not isinstance(fault, Fault):
                raise TypeError(f"expected Fault, got {type(fault).__name__}")
        with self._lock:
            self._faults.extend(faults)

    @property
    def pending_faults(self) -> int:
        """How many queued faults have not been consumed yet."""
        with self._lock:
            return len(self._faults)

    def wait_faults_taken(self, timeout: float = 5.0) -> None:
        """Block until every queued fault has been taken by a request (so a test can order a
        second request after the first without sleeping); fail after ``timeout``."""
        with self._taken:
            if not self._taken.wait_for(lambda: not self._faults, timeout=timeout):
                raise AssertionError(f"{len(self._faults)} fault(s) still queued after {timeout} s")

    @property
    def requests(self) -> list[Request]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def count(self, path_prefix: str | None = None) -> int:
        """Number of requests received, optionally only those whose path starts with this."""
        with self._lock:
            if path_prefix is None:
                return len(self._requests)
            return sum(1 for r in self._requests if r.path.startswith(path_prefix))

    def reset(self) -> None:
        """Forget recorded requests and drop any unconsumed faults."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()

    # --- used by the handler ---------------------------------------------------------

    def _check_auth(self, header: str | None) -> bool | None:
        if self._token is None:
            return None
        return header == f"Bearer {self._token}"

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_fault(self) -> Fault | None:
        with self._taken:
            fault = self._faults.popleft() if self._faults else None
            self._taken.notify_all()
            return fault

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)
