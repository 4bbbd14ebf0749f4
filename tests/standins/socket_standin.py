"""A local stand-in for Slack's Socket Mode websocket, for end-to-end tests of ``faqbot socket``.

It speaks the real protocol (RFC 6455, via the ``websockets`` library's threaded server) on
127.0.0.1 at an OS-chosen port. It answers ``apps.connections.open`` on a ``SlackStandIn``
with a ``ws://`` URL, greets each connection with ``hello``, sends ``events_api``,
``slash_commands`` and ``interactive`` envelopes on demand, and records every ack the bot
sends back (envelope id, arrival time, connection). It can also do what Slack does to a live
connection: ask for a refresh (a ``disconnect`` envelope) or drop the TCP connection without a
close frame.

``websockets`` rather than a hand-written server: the faults under test are in framing, pings
and closing, so the server side should be a well-kept implementation, not a second copy of
the same guesses. The app token is compared in constant time and never printed.
"""

from __future__ import annotations

import hmac
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from tests.standins.lifecycle import HOST, Started
from tests.standins.slack_standin import APP_ID, Call, SlackStandIn

__all__ = ["Ack", "Link", "SocketStandIn"]


@dataclass
class Link:
    """One websocket connection the bot opened; ``number`` counts from 1."""

    number: int
    ws: ServerConnection = field(repr=False)
    opened: float
    closed: float | None = None

    @property
    def open(self) -> bool:
        return self.closed is None


@dataclass(frozen=True)
class Ack:
    """An envelope acknowledgement the bot sent (``payload`` is a slash command's reply)."""

    envelope_id: str
    time: float
    link: int
    payload: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Sent:
    envelope_id: str
    time: float
    link: int
    envelope: Mapping[str, Any] = field(repr=False)


class SocketStandIn(Started):
    """Socket Mode server for one app token; use as a context manager around the bot."""

    def __init__(self, slack: SlackStandIn, app_token: str) -> None:
        self.slack = slack
        self._app_token = app_token
        self._cond = threading.Condition()
        self._links: list[Link] = []
        self._acks: list[Ack] = []
        self._sent: dict[str, Sent] = {}
        self._ids = itertools.count(1)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SocketStandIn:
        self._server = serve(self._serve_link, HOST, 0, ping_interval=None, close_timeout=1)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                         name="socket-standin", daemon=True)
        self._thread.start()
        self.slack.set_response("apps.connections.open", self._open)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        assert self._server is not None, "SocketStandIn is not started"
        port = self._server.socket.getsockname()[1]
        return f"ws://{HOST}:{port}/link/"

    # -- apps.connections.open (on the HTTP stand-in's threads) ------------------------------

    def _open(self, call: Call) -> dict[str, Any]:
        token = call.token or ""
        if not hmac.compare_digest(token.encode(), self._app_token.encode()):
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": f"{self.url}?ticket={next(self._ids)}"}

    # -- one connection (on a server thread) -------------------------------------------------

    def _serve_link(self, ws: ServerConnection) -> None:
        opened = time.monotonic()
        try:
            ws.send(json.dumps({"type": "hello", "num_connections": 1,
                                "debug_info": {"host": "standin", "build_number": 1,
                                               "approximate_connection_time": 18060},
                                "connection_info": {"app_id": APP_ID}}))
        except ConnectionClosed:
            return
        with self._cond:  # listed once greeted: Slack delivers envelopes only after hello
            link = Link(number=len(self._links) + 1, ws=ws, opened=opened)
            self._links.append(link)
            self._cond.notify_all()
        try:
            for message in ws:
                self._record(link, message)
        except (ConnectionClosed, OSError):
            pass
        finally:
            with self._cond:
                link.closed = time.monotonic()
                self._cond.notify_all()

    def _record(self, link: Link, message: str | bytes) -> None:
        received = time.monotonic()
        data = json.loads(message)
        ack = Ack(envelope_id=data["envelope_id"], time=received, link=link.number,
                  payload=data.get("payload"))
        with self._cond:
            self._acks.append(ack)
            self._cond.notify_all()

    # -- driving the bot ---------------------------------------------------------------------

    def send_event(self, body: bytes, *, retry_of: str | None = None) -> str:
        """An ``events_api`` envelope around an Events API body (``event_body(...)``).

        ``retry_of`` redelivers an earlier envelope's payload with ``retry_attempt: 1``, as
        Slack does when an envelope went unacknowledged.
        """
        payload = self._sent[retry_of].envelope["payload"] if retry_of else json.loads(body)
        return self._send("events_api", payload, retry_attempt=1 if retry_of else 0,
                          accepts_response_payload=False)

    def send_command(self, body: bytes) -> str:
        """A ``slash_commands`` envelope; ``body`` is a form body from ``command_body(...)``."""
        return self._send("slash_commands", dict(parse_qsl(body.decode())),
                          accepts_response_payload=True)

    def send_interactive(self, payload: Mapping[str, Any]) -> str:
        """An ``interactive`` envelope around a ``block_actions`` (or other) payload."""
        return self._send("interactive", dict(payload), accepts_response_payload=False)

    def _send(self, kind: str, payload: Mapping[str, Any], **extra: Any) -> str:
        envelope_id = f"env-{next(self._ids):06d}"
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload, **extra}
        if kind == "events_api":
            envelope.setdefault("retry_reason", "timeout" if extra["retry_attempt"] else "")
        link = self.current()
        link.ws.send(json.dumps(envelope))
        with self._cond:
            self._sent[envelope_id] = Sent(envelope_id, time.monotonic(), link.number, envelope)
        return envelope_id

    def refresh(self) -> Link:
        """Ask the bot to reconnect, as Slack does every few hours; returns the old link."""
        link = self.current()
        link.ws.send(json.dumps({"type": "disconnect", "reason": "refresh_requested",
                                 "debug_info": {"host": "standin"}}))
        return link

    def drop(self) -> Link:
        """End the TCP connection without a close frame (a FIN, as a dying proxy sends)."""
        link = self.current()
        link.ws.socket.shutdown(socket.SHUT_RDWR)
        return link

    # -- inspection --------------------------------------------------------------------------

    def links(self) -> list[Link]:
        with self._cond:
            return list(self._links)

    def current(self) -> Link:
        """The newest open connection (the one Slack would deliver on)."""
        with self._cond:
            open_links = [link for link in self._links if link.open]
        if not open_links:
            raise AssertionError("the bot has no open Socket Mode connection")
        return open_links[-1]

    def acks(self, envelope_id: str | None = None) -> list[Ack]:
        with self._cond:
            return [a for a in self._acks if envelope_id in (None, a.envelope_id)]

    def sent(self, envelope_id: str) -> Sent:
        with self._cond:
            return self._sent[envelope_id]

    def ack_delay(self, envelope_id: str) -> float:
        """Seconds from sending an envelope to its first ack."""
        return self.wait_for_ack(envelope_id, 0).time - self.sent(envelope_id).time

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        return self._wait(lambda: next(iter(self.acks(envelope_id)), None),
                          timeout, f"an ack for {envelope_id}")

    def wait_for_link(self, number: int, timeout: float = 10.0) -> Link:
        """Block until the bot opened connection ``number`` (the condition lock is an RLock)."""
        def found() -> Link | None:
            return next((link for link in self._links if link.number == number), None)
        return self._wait(found, timeout, f"connection #{number}")

    def wait_closed(self, link: Link, timeout: float = 10.0) -> float:
        """Block until ``link`` is closed; returns when it closed."""
        return self._wait(lambda: link.closed, timeout, f"connection #{link.number} to close")

    def _wait(self, probe: Callable[[], Any], timeout: float, what: str) -> Any:
        with self._cond:
            value = None

            def ready() -> bool:
                nonlocal value
                value = probe()
                return value is not None

            if self._cond.wait_for(ready, timeout=timeout):
                return value
            links = [(link.number, link.open) for link in self._links]
            acks = [a.envelope_id for a in self._acks]
        raise AssertionError(f"no {what} within {timeout}s; links {links}, acks {acks}")
