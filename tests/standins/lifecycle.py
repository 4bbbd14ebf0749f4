"""The start/stop plumbing that the stand-ins and the server process share, written once.

Each is a context manager that starts on entry and stops on exit (``Started``); the HTTP
stand-ins also serve a ``ThreadingHTTPServer`` on 127.0.0.1, on a port the OS picks, from a
daemon thread that never blocks the test run's exit (``ThreadedHTTPStandIn``).
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Self

HOST = "127.0.0.1"


def loopback_url(port: int) -> str:
    """The base URL of something listening on ``port`` of the loopback address."""
    return f"http://{HOST}:{port}"


class Started:
    """``with thing as t:`` starts ``thing`` and stops it however the block ends."""

    def start(self) -> object:
        raise NotImplementedError

    def stop(self) -> object:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ThreadedHTTPStandIn(Started):
    """A stand-in answering HTTP on 127.0.0.1 from a daemon thread; subclasses build the
    server in ``start`` and hand it to ``_serve``."""

    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def _serve(self, server: ThreadingHTTPServer, *, name: str, poll_interval: float) -> None:
        """Serve ``server`` from a daemon thread; its request threads are daemons too."""
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": poll_interval},
                                        name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Shut the server down and release the port; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            self._before_close()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def _before_close(self) -> None:
        """Runs once the server has stopped accepting and before its socket closes."""

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return loopback_url(self.port)
