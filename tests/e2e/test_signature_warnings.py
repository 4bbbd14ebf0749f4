"""A wrong signing secret, seen from a real ``faqbot serve``: the first failed request is a
WARNING naming SLACK_SIGNING_SECRET and where to copy it from; the ones after it within the
minute are counted, not logged, and reported on shutdown; no secret, signature or body is in
the log."""

from __future__ import annotations

import time

from tests.conftest import server_env
from tests.e2e.conftest import SECRET, TOKEN, message
from tests.e2e.test_bad_headers import log_so_far, post_raw
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import SlackStandIn, event_body, send_signed

WRONG_SECRET = "0123456789abcdef-wrong-secret"
QUESTION = "where is the signature-check-canary form?"
FAILED = "failed Slack's signature check"


def test_a_wrong_signing_secret_is_one_warning_a_minute_with_the_fix(
        slack: SlackStandIn, tmp_path) -> None:
    env = server_env(slack, token=TOKEN, secret=SECRET)
    body = event_body(message(QUESTION))
    with ServerProcess(env, cwd=str(tmp_path)) as server:
        server.wait_healthy()
        assert send_signed(server.events_url, body, WRONG_SECRET)[0] == 401
        first = server.wait_for_line(f"WARNING .*1 request {FAILED}.*", timeout=10).group(0)
        assert "SLACK_SIGNING_SECRET is wrong" in first and "Basic Information" in first
        for _ in range(2):
            assert send_signed(server.events_url, body, WRONG_SECRET)[0] == 401
        stale = int(time.time()) - 600  # right secret, but a clock ten minutes off
        assert send_signed(server.events_url, body, SECRET, timestamp=stale)[0] == 401
        assert post_raw(server, body, [("Content-Type", "application/json")]) == 401  # unsigned
        assert log_so_far(server).count(FAILED) == 1  # counted, not logged
        assert server.stop() == 0
    counted = [line for line in server.lines if FAILED in line][1]
    assert f"4 requests {FAILED} since the last such warning" in counted
    assert "2 signed with another secret" in counted
    assert "1 timestamped over 5 minutes from this server's clock" in counted
    assert "1 without Slack's signature headers" in counted
    for never in (WRONG_SECRET, SECRET, QUESTION, "v0="):
        assert never not in server.log
