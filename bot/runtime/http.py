"""``faqbot serve``: gunicorn with one worker process and several threads, serving a small
WSGI app: POST /slack/events and GET /healthz.

One worker means one copy of the index and the model in memory. The FAQ is loaded in
that worker after the fork, not in the master with ``preload_app``: onnxruntime's thread
pool does not survive a fork, and loading in a thread lets the worker answer /healthz
(503) at once instead of leaving the platform's health checks hanging while it loads.

Bodies are size-checked and read here, before Bolt sees them: Bolt parses a body before
verifying its signature and raises on malformed JSON, which would surface as a 500.
Until the FAQ and the Bolt app are ready, /slack/events answers 503 and /healthz too.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.config import check_port
from bot.errors import UserError

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.config import Settings
    from bot.runtime.startup import Runtime

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's payloads are far smaller (a 40k-character message escapes to ~240 kB at worst).
MAX_BODY_BYTES = 512 * 1024

StartResponse = Callable[..., Any]
# Slack's timestamp is Unix seconds. Bolt would int() anything and trip over "abc", a float,
# 400 digits (too large for a float) or a repeated header (joined with a comma): a 500.
TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)


def _plain(start_response: StartResponse, status: str, text: str) -> Iterable[bytes]:
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body)))])
    return [body]


def timestamp_ok(environ: dict[str, Any]) -> bool:
    """False for an ``X-Slack-Request-Timestamp`` that no signature check could accept.

    A missing one is left to Bolt, which answers 401 itself.
    """
    value = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    return value is None or TIMESTAMP.fullmatch(value) is not None


class WebApp:
    """WSGI callable. Starts empty; ``attach`` plugs in the Bolt app once it is built."""

    def __init__(self) -> None:
        self._handler: SlackRequestHandler | None = None
        self._ready: Callable[[], bool] = lambda: False

    def attach(self, app: App, ready: Callable[[], bool]) -> None:
        """Serve ``app``; ``ready`` answers /healthz (is the embedder still answering?)."""
        self._ready = ready
        self._handler = SlackRequestHandler(app, path=EVENTS_PATH)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            return self._health(start_response)
        if path == EVENTS_PATH and method == "POST":
            return self._events(environ, start_response)
        if path in (HEALTH_PATH, EVENTS_PATH):
            return _plain(start_response, "405 Method Not Allowed", "method not allowed")
        return _plain(start_response, "404 Not Found", "not found")

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            ready = self._ready()
        except Exception:
            log.exception("health check failed")
            ready = False
        if ready:
            return _plain(start_response, "200 OK", "ok")
        return _plain(start_response, "503 Service Unavailable", "not ready")

    def _events(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return _plain(start_response, "411 Length Required", "Content-Length required")
        if length < 0 or length > MAX_BODY_BYTES:
            log.warning("refused a %d-byte request body (limit %d)", length, MAX_BODY_BYTES)
            return _plain(start_response, "413 Content Too Large", "request body too large")
        if not timestamp_ok(environ):
            log.warning("refused a request with a malformed X-Slack-Request-Timestamp")
            return _plain(start_response, "401 Unauthorized", "invalid request signature")
        raw = environ["wsgi.input"].read(length)
        if len(raw) != length:
            return _plain(start_response, "400 Bad Request", "incomplete body")
        handler = self._handler
        if handler is None:
            return _plain(start_response, "503 Service Unavailable", "starting up")
        environ = {**environ, "wsgi.input": io.BytesIO(raw)}
        try:
            return handler(environ, start_response)
        except (ValueError, TypeError, AttributeError, LookupError) as error:
            # Bolt tripping over a malformed body: not UTF-8, not JSON, or JSON of the wrong
            # shape. Our listeners run later on their own threads, so none of theirs lands here.
            log.warning("refused a malformed request body: %s", type(error).__name__)
            return _plain(start_response, "400 Bad Request", "malformed body")


HTTP_THREADS = 8  # requests are acked at once; listeners run on their own pool
GRACEFUL_TIMEOUT = 30  # SIGTERM: seconds to finish in-flight replies (Heroku allows 30)


class Server(BaseApplication):
    """gunicorn configured in code, so ``faqbot serve`` is the only entry point."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.web = WebApp()
        self.runtime: Runtime | None = None
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": [f"0.0.0.0:{self.port}"],
            "workers": 1,
            "worker_class": "gthread",
            "threads": HTTP_THREADS,
            "graceful_timeout": GRACEFUL_TIMEOUT,
            "preload_app": False,
            "accesslog": None,
            "errorlog": "-",
            "control_socket_disable": True,  # gunicorn >= 25; nothing here uses it
            "when_ready": self.when_ready,
            "post_worker_init": self.post_worker_init,
            "worker_exit": self.worker_exit,
        }
        for key, value in options.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> WebApp:
        return self.web

    def when_ready(self, server: Arbiter) -> None:
        """Log the bound address: with ``--port 0`` this is how callers learn the port."""
        for listener in server.LISTENERS:
            host, port = listener.sock.getsockname()[:2]
            log.info("listening on http://%s:%d", host, port)

    def post_worker_init(self, worker: Any) -> None:
        threading.Thread(target=self._load, name="faqbot-loader", daemon=True).start()

    def worker_exit(self, server: Arbiter, worker: Any) -> None:
        """After SIGTERM: gunicorn has finished its requests; let queued replies finish too."""
        if self.runtime is not None:
            self.runtime.close()

    def _load(self) -> None:
        """Load the FAQ and build the Bolt app; a failure stops the whole server."""
        from bot.runtime.startup import start

        try:
            runtime = start(self.settings)
        except UserError as error:
            log.error("%s", error.one_line())
            os._exit(Arbiter.APP_LOAD_ERROR)  # the master then halts; serve() exits 2
        except Exception:
            log.exception("could not start")
            os._exit(Arbiter.WORKER_BOOT_ERROR)
        self.runtime = runtime
        self.web.attach(runtime.app, runtime.answerer.ready)
        log.info("ready: %s", runtime.describe())


def serve(settings: Settings, port: int | None = None) -> int:
    """Run until SIGTERM/SIGINT; exit code 2 when the worker could not load the FAQ."""
    from bot.slack.credentials import require_http

    require_http(settings)
    port = settings.port if port is None else check_port(port)
    try:
        Server(settings, port).run()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
        return {0: 0, Arbiter.APP_LOAD_ERROR: 2}.get(code, 1)
    return 0
