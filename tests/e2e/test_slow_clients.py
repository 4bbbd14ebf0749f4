"""Idle and trickling connections must not take `faqbot serve` down (issue: slowloris).

Against a real server process: 200 connections are held open, half having sent only a
request line, half trickling a body byte by byte. A signed event must still be acked
within a second and answered, and /healthz must answer.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import server_env
from tests.standins.server_process import ServerProcess, http_status
from tests.standins.slack_standin import SlackStandIn, event_body, send_signed
from tests.standins.slow_clients import hold_connections

SECRET = "slow-clients-signing-secret"
TOKEN = "xoxb-slow-clients"
HELD = 200
ACK_SECONDS = 1.0


@pytest.fixture(scope="module")
def server(slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[ServerProcess]:
    env = server_env(slack, token=TOKEN, secret=SECRET,
                     DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('db') / 'log.sqlite3'}")
    with ServerProcess(env, cwd=str(tmp_path_factory.mktemp("serve"))) as process:
        process.wait_healthy()
        yield process


def test_slow_connections_do_not_delay_acks_or_health(server: ServerProcess,
                                                      slack: SlackStandIn) -> None:
    held = hold_connections(server.port, HELD)
    try:
        for sock in held[1::2]:  # trickle one more byte each
            sock.sendall(b" ")
        assert http_status(f"{server.base_url}/healthz", timeout=ACK_SECONDS * 5) == 200
        event: dict[str, Any] = {"type": "message", "channel": "C1", "user": "U1",
                                 "ts": "7.000001", "channel_type": "channel",
                                 "text": "how do I get a new medicare card?"}
        started = time.perf_counter()
        status, _, _ = send_signed(server.events_url, event_body(event), SECRET)
        ack = time.perf_counter() - started
        assert status == 200
        assert ack < ACK_SECONDS, f"acked in {ack:.2f} s with {HELD} slow connections held"
        [reply] = slack.wait_for("chat.postMessage",
                                 where=lambda call: call.params.get("thread_ts") == "7.000001")
        assert "Medicare card" in str(reply.params)
    finally:
        for sock in held:
            with contextlib.suppress(OSError):
                sock.close()


def test_a_body_that_never_arrives_is_dropped(server: ServerProcess) -> None:
    """Not held for ever: the server answers 408 once the body deadline passes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{")
        answer = sock.recv(200)
    assert answer.startswith(b"HTTP/1.1 408")
