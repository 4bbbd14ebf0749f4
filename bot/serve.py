"""``faqbot serve``: gunicorn with one worker process and several threads.

One worker means one copy of the index and the model in memory. The FAQ is loaded in
that worker after the fork, not in the master with ``preload_app``: onnxruntime's thread
pool does not survive a fork, and loading in a thread lets the worker answer /healthz
(503) at once instead of leaving the platform's health checks hanging while it loads.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from bot.errors import UserError
from bot.heap import settle_heap
from bot.web import WebApp

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store import Store

log = logging.getLogger("bot.serve")

HTTP_THREADS = 8  # requests are acked at once; listeners run on their own pool
GRACEFUL_TIMEOUT = 30  # SIGTERM: seconds to finish in-flight replies (Heroku allows 30)
DEFAULT_PORT = 3000


class Server(BaseApplication):
    """gunicorn configured in code, so ``faqbot serve`` is the only entry point."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.web = WebApp()
        self.executor: ThreadPoolExecutor | None = None
        self.store: Store | None = None
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
        if self.executor is not None:
            log.info("finishing in-flight replies")
            self.executor.shutdown(wait=True)
        if self.store is not None:
            self.store.close()

    def _load(self) -> None:
        """Load the FAQ and build the Bolt app; a failure stops the whole server."""
        from bot.faq.answerer import load_answerer
        from bot.slack.app import create_app, listener_executor
        from bot.store import open_store

        try:
            answerer = load_answerer(self.settings, patient=True)
            executor = listener_executor()
            self.store = open_store(self.settings)
            app = create_app(self.settings, answerer, executor=executor, deduper=self.store,
                             recorder=self.store)
            answerer.ready()
        except UserError as error:
            log.error("%s", error.one_line())
            os._exit(Arbiter.APP_LOAD_ERROR)  # the master then halts; serve() exits 2
        except Exception:
            log.exception("could not start")
            os._exit(Arbiter.WORKER_BOOT_ERROR)
        self.executor = executor
        settle_heap()
        self.web.attach(app, answerer.ready)
        log.info("ready: %d FAQs from %s", len(answerer.faq.rows), answerer.faq.source)


def listen_port(port: int | None) -> int:
    """``--port``, else ``$PORT`` (how Heroku and friends say where to listen), else 3000."""
    if port is None:
        raw = os.environ.get("PORT", "").strip() or str(DEFAULT_PORT)
        try:
            port = int(raw)
        except ValueError:
            raise UserError(f"PORT={raw!r} is not a port number",
                            "set PORT to a number such as 3000, or pass --port") from None
    if not 0 <= port <= 65535:
        raise UserError(f"port {port} is out of range", "use --port (or PORT) 1-65535, or 0")
    return port


def serve(settings: Settings, port: int | None = None) -> int:
    """Run until SIGTERM/SIGINT; exit code 2 when the worker could not load the FAQ."""
    from bot.slack.credentials import require_http

    require_http(settings)
    port = listen_port(port)
    try:
        Server(settings, port).run()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
        return {0: 0, Arbiter.APP_LOAD_ERROR: 2}.get(code, 1)
    return 0
