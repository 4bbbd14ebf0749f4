"""The WSGI app gunicorn serves: POST /slack/events and GET /healthz.

Bodies are size-checked and read here, before Bolt sees them: Bolt parses a body before
verifying its signature and raises on malformed JSON, which would surface as a 500.
Until the FAQ and the Bolt app are ready, /slack/events answers 503 and /healthz too.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

if TYPE_CHECKING:
    from slack_bolt import App

log = logging.getLogger("bot.web")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's payloads are far smaller (a 40k-character message escapes to ~240 kB at worst).
MAX_BODY_BYTES = 512 * 1024

StartResponse = Callable[..., Any]


def _plain(start_response: StartResponse, status: str, text: str) -> Iterable[bytes]:
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body)))])
    return [body]


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
