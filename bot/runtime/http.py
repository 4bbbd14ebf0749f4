"""``faqbot serve``: one process, an asyncio HTTP server (uvicorn), and a small ASGI app for
POST /slack/events and GET /healthz.

Why an event loop and not a thread per connection: gunicorn's gthread worker hands a
connection to one of its threads as soon as the first byte arrives and then reads with no
deadline, so eight clients that send a request line and stop took every thread, and with
them /healthz and every Slack event. Here an idle or trickling connection costs a socket and
a parked coroutine, never a thread; a body that doesn't arrive within ``BODY_SECONDS`` is
answered 408. Bolt's dispatch (signature check, then the ack) runs on a small thread pool,
so the loop never waits on it; the answers themselves run later on the listener pool.

One process means one copy of the index and the model in memory. The FAQ is loaded on a
thread once the socket is bound, so /healthz answers 503 at once instead of leaving the
platform's health checks hanging while it loads. On SIGTERM the server stops accepting,
finishes the requests in flight, and then the replies already queued are finished too.

Bodies are size-checked and read here, before Bolt sees them: Bolt parses a body before
verifying its signature and raises on malformed JSON, which would surface as a 500.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from bot.config import check_port
from bot.errors import UserError
from bot.runtime.signals import STOP_SIGNALS
from bot.runtime.signatures import MALFORMED, SignatureFailures, cause

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.config import Settings
    from bot.runtime.startup import Runtime

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's payloads are far smaller (a 40k-character message escapes to ~240 kB at worst).
MAX_BODY_BYTES = 512 * 1024
DRAIN_BYTES = 4 * 1024 * 1024
DRAIN_SECONDS = 1.0
# Slack sends a whole request at once; a body still trickling in after this is not Slack.
BODY_SECONDS = 10.0
DISPATCH_THREADS = 8  # Bolt verifies and acks here; answers run on the listener pool
GRACEFUL_SECONDS = 25  # SIGTERM: Heroku allows 30 s in all, the queued replies need some

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
# Slack's timestamp is Unix seconds. Bolt would int() anything and trip over "abc", a float,
# 400 digits (too large for a float) or a repeated header: a 500.
TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
SIGNATURE_HEADERS = ("x-slack-signature", "x-slack-request-timestamp")


class BodyError(Exception):
    """A request body we refuse before Bolt sees it: carries the HTTP status and reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _headers(scope: Scope) -> dict[str, list[str]]:
    """Header name (lower case) → its values, as Bolt's ``BoltRequest`` takes them."""
    headers: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return headers


async def read_body(receive: Receive, declared: str | None) -> bytes:
    """The whole body, refused when it is too large, incomplete or too slow to arrive.

    An oversized body is drained (up to ``DRAIN_BYTES`` or ``DRAIN_SECONDS``, never kept)
    before the 413, so a client that writes its whole request before reading the answer
    sees the status rather than a broken pipe.
    """
    too_large = False
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise BodyError(400, "bad Content-Length") from None
        too_large = length < 0 or length > MAX_BODY_BYTES
        if too_large:
            log.warning("refused a %d-byte request body (limit %d)", length, MAX_BODY_BYTES)
    chunks: list[bytes] = []
    size = 0

    async def collect() -> None:
        nonlocal size, too_large
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise BodyError(400, "incomplete body")
            chunk = message.get("body", b"")
            size += len(chunk)
            too_large = too_large or size > MAX_BODY_BYTES
            if not too_large:
                chunks.append(chunk)
            if not message.get("more_body") or size > DRAIN_BYTES:
                return

    try:
        await asyncio.wait_for(collect(), DRAIN_SECONDS if too_large else BODY_SECONDS)
    except TimeoutError:
        if not too_large:
            raise BodyError(408, "request body too slow") from None
    if too_large:
        raise BodyError(413, "request body too large")
    return b"".join(chunks)


def signature_headers_ok(headers: dict[str, list[str]]) -> bool:
    """False when the signature or its timestamp is sent twice, or the timestamp is not one
    any signature check could accept. Missing ones are left to Bolt, which answers 401."""
    if any(len(headers.get(name, ())) > 1 for name in SIGNATURE_HEADERS):
        return False
    values = headers.get("x-slack-request-timestamp")
    return values is None or TIMESTAMP.fullmatch(values[0]) is not None


class WebApp:
    """The ASGI callable. Starts empty; ``attach`` plugs in the Bolt app once it is built."""

    def __init__(self) -> None:
        self._app: App | None = None
        self._ready: Callable[[], bool] = lambda: False
        self._pool = ThreadPoolExecutor(max_workers=DISPATCH_THREADS,
                                        thread_name_prefix="faqbot-http")
        self.signature_failures = SignatureFailures()

    def attach(self, app: App, ready: Callable[[], bool]) -> None:
        """Serve ``app``; ``ready`` answers /healthz (is the embedder still answering?)."""
        self._ready = ready
        self._app = app

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.signature_failures.flush()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            await self._health(send)
        elif path == EVENTS_PATH and method == "POST":
            await self._events(scope, receive, send)
        elif path in (HEALTH_PATH, EVENTS_PATH):
            await _plain(send, 405, "method not allowed")
        else:
            await _plain(send, 404, "not found")

    async def _health(self, send: Send) -> None:
        loop = asyncio.get_running_loop()
        try:
            ready = await loop.run_in_executor(self._pool, self._ready)
        except Exception:
            log.exception("health check failed")
            ready = False
        await (_plain(send, 200, "ok") if ready else _plain(send, 503, "not ready"))

    async def _events(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        declared = headers.get("content-length", [None])[0]
        try:
            if not signature_headers_ok(headers):
                self.signature_failures.record(MALFORMED)
                raise BodyError(401, "invalid request signature")
            raw = await read_body(receive, declared)
        except BodyError as refused:
            await _plain(send, refused.status, refused.reason)
            return
        app = self._app
        if app is None:
            await _plain(send, 503, "starting up")
            return
        query = scope.get("query_string", b"").decode("latin-1")
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self._pool, _dispatch, app, raw, query, headers)
        if response is None:
            await _plain(send, 400, "malformed body")
            return
        status, body, response_headers = response
        if status == 401:  # Bolt's signature check (its ssl_check step, the other 401, is off)
            self.signature_failures.record(cause(headers, time.time()))
        encoded = body.encode("utf-8")
        await send({"type": "http.response.start", "status": status,
                    "headers": [*response_headers,
                                (b"content-length", str(len(encoded)).encode())]})
        await send({"type": "http.response.body", "body": encoded})


def _dispatch(app: App, raw: bytes, query: str, headers: dict[str, list[str]]
              ) -> tuple[int, str, list[tuple[bytes, bytes]]] | None:
    """Bolt's verify-and-ack on one request; None when Bolt trips over a malformed body."""
    from slack_bolt.request import BoltRequest

    try:
        response = app.dispatch(BoltRequest(body=raw.decode("utf-8"), query=query,
                                            headers=headers))
    except (ValueError, TypeError, AttributeError, LookupError) as error:
        # Bolt tripping over a malformed body: not UTF-8, not JSON, or JSON of the wrong
        # shape. Our listeners run later on their own threads, so none of theirs lands here.
        log.warning("refused a malformed request body: %s", type(error).__name__)
        return None
    pairs = [(name.lower().encode("latin-1"), value.encode("latin-1"))
             for name, values in response.headers.items() if name.lower() != "content-length"
             for value in values]
    return response.status, response.body, pairs


class Server:
    """uvicorn on a socket bound here (so ``--port 0`` can say which port it got), with the
    FAQ loaded on a thread beside it."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.web = WebApp()
        self.runtime: Runtime | None = None
        self.exit_code = 0  # 2: the FAQ could not be loaded (the user must act); 1: a bug
        self._uvicorn: Any = None

    def run(self) -> int:
        import uvicorn

        sock = socket.create_server(("0.0.0.0", self.port), backlog=2048, reuse_port=False)
        host, port = sock.getsockname()[:2]
        config = uvicorn.Config(self.web, http="h11", lifespan="off", log_config=None,
                                access_log=False, server_header=False,
                                timeout_graceful_shutdown=GRACEFUL_SECONDS)
        self._uvicorn = uvicorn.Server(config)
        log.info("listening on http://%s:%d", host, port)
        threading.Thread(target=self._load, name="faqbot-loader", daemon=True).start()
        # uvicorn re-raises the signal that stopped it, to the handlers it found: make those
        # ours, so the process lives on to finish the queued replies.
        for signum in STOP_SIGNALS:
            signal.signal(signum, _draining)
        try:
            self._uvicorn.run(sockets=[sock])
        finally:
            sock.close()
            self.web.close()
            if self.runtime is not None:
                self.runtime.close()
        return self.exit_code

    def _load(self) -> None:
        """Load the FAQ and build the Bolt app; a failure stops the whole server (exit 2)."""
        from bot.runtime.startup import start

        try:
            runtime = start(self.settings)
        except UserError as error:
            log.error("%s", error.one_line())
            self._stop(2)
            return
        except Exception:
            log.exception("could not start")
            self._stop(1)
            return
        self.runtime = runtime
        self.web.attach(runtime.app, runtime.answerer.ready)
        log.info("ready: %s", runtime.describe())


    def _stop(self, code: int) -> None:
        self.exit_code = code
        self._uvicorn.should_exit = True


def _draining(signum: int, frame: object) -> None:
    log.info("still finishing in-flight replies; signal %d ignored", signum)


def serve(settings: Settings, port: int | None = None) -> int:
    """Run until SIGTERM/SIGINT; exit code 2 when the FAQ could not be loaded."""
    from bot.slack.credentials import require_http
    from bot.storage import vet_choice

    require_http(settings)
    vet_choice(settings)  # SQLite on Heroku is refused before the port is bound
    port = settings.port if port is None else check_port(port)
    try:
        return Server(settings, port).run()
    except OSError as error:
        raise UserError(f"cannot listen on port {port} ({error.strerror or error})",
                        "choose a free port with --port or PORT") from None
