"""Malformed signature headers, sent to a real ``faqbot serve``: each is a 401 with no
traceback in the log, never a 500. An unsigned ``ssl_check=1`` form is a 401 too (Bolt's
built-in ssl_check step would answer it 200 before checking any signature)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import server_env
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import SlackStandIn, event_body, send_signed

SECRET = secrets.token_hex(16)
CHANNEL = "CHEAD"
MAX_BODY_BYTES = 512 * 1024
_sizes = itertools.count(MAX_BODY_BYTES + 1)


@pytest.fixture(scope="module")
def server(slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[ServerProcess]:
    env = server_env(slack, token="xoxb-test-headers", secret=SECRET, FAQ_CHANNELS=CHANNEL)
    with ServerProcess(env, cwd=str(tmp_path_factory.mktemp("headers"))) as process:
        process.wait_healthy()
        yield process


def post_raw(server: ServerProcess, body: bytes, headers: list[tuple[str, str]],
             length: int | None = None) -> int:
    """POST with exactly these header lines (repeats included), as a hostile client might."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("POST", "/slack/events")
        size = len(body) if length is None else length
        for name, value in [*headers, ("Content-Length", str(size))]:
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def log_so_far(server: ServerProcess) -> str:
    """The server's log up to now: an oversized request of a fresh size is refused with a
    log line naming that size, and lines arrive in order, so once it is in, so is
    everything logged before it."""
    size = next(_sizes)
    assert post_raw(server, b"", [], length=size) == 413
    server.wait_for_line(f"refused a {size}-byte request body", timeout=10)
    return server.log


def signature(body: bytes, timestamp: str) -> str:
    digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
    return f"v0={digest.hexdigest()}"


def question(ts: str) -> bytes:
    return event_body({"type": "message", "channel": CHANNEL, "user": "U1", "ts": ts,
                       "text": "how do I get a new medicare card?", "channel_type": "channel"})


def now() -> str:
    return str(int(time.time()))


def as_signed(timestamp: str, body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", "application/json"), ("X-Slack-Request-Timestamp", timestamp),
            ("X-Slack-Signature", signature(body, timestamp))]


BAD_TIMESTAMPS: dict[str, Any] = {
    "letters": lambda: "abc",
    "a float": lambda: f"{time.time():.3f}",
    "400 digits": lambda: "1" * 400,
    "negative": lambda: f"-{now()}",
    "spaces": lambda: f" {now()} ",
}


@pytest.mark.parametrize("make", BAD_TIMESTAMPS.values(), ids=BAD_TIMESTAMPS.keys())
def test_a_malformed_timestamp_is_401_without_a_traceback(server: ServerProcess,
                                                          make: Any) -> None:
    timestamp = make()
    body = question(f"1900000{secrets.randbelow(999)}.000001")
    assert post_raw(server, body, as_signed(timestamp, body)) == 401
    assert "Traceback" not in log_so_far(server)


def test_the_timestamp_header_sent_twice_is_401(server: ServerProcess) -> None:
    timestamp = now()
    body = question("1900001000.000001")
    headers = [*as_signed(timestamp, body), ("X-Slack-Request-Timestamp", timestamp)]
    assert post_raw(server, body, headers) == 401
    assert "Traceback" not in log_so_far(server)


def test_the_signature_header_sent_twice_is_401(server: ServerProcess) -> None:
    timestamp = now()
    body = question("1900001001.000001")
    headers = as_signed(timestamp, body)
    assert post_raw(server, body, [*headers, headers[-1]]) == 401
    assert "Traceback" not in log_so_far(server)


@pytest.mark.parametrize("signed", ["unsigned", "stale"])
def test_ssl_check_needs_a_valid_signature(server: ServerProcess, signed: str) -> None:
    body = b"ssl_check=1&token=anything"
    headers = [("Content-Type", "application/x-www-form-urlencoded")]
    if signed == "stale":
        headers = [headers[0], *as_signed(str(int(time.time()) - 600), body)[1:]]
    assert post_raw(server, body, headers) == 401


def test_a_well_formed_request_is_still_answered(server: ServerProcess,
                                                 slack: SlackStandIn) -> None:
    body = question("1900002000.000001")
    assert post_raw(server, body, as_signed(now(), body)) == 200
    slack.wait_for("chat.postMessage",
                     where=lambda c: c.params.get("thread_ts") == "1900002000.000001")
    assert send_signed(server.events_url, b"ssl_check=1", SECRET)[0] == 200  # signed: fine
    assert "Traceback" not in log_so_far(server)
