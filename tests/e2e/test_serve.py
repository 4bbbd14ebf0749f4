"""``faqbot serve`` as a subprocess, stopped the way a platform stops it: finishing in-flight
replies on SIGTERM, and exiting with code 2 on a token Slack rejects."""

from __future__ import annotations

from typing import Any

from tests.conftest import REVOKED_TOKEN, server_env
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import HeldReply, SlackStandIn, event_body, send_signed

SECRET = "serve-test-secret"


def test_sigterm_finishes_the_reply_in_flight(slack_standin: SlackStandIn,
                                              tmp_path: Any) -> None:
    slow_slack = HeldReply("9.000001", hold=30)
    slack_standin.set_response("chat.postMessage", slow_slack)
    env = server_env(slack_standin, token="xoxb-test-sigterm", secret=SECRET)
    with ServerProcess(env, cwd=str(tmp_path)) as server:
        server.wait_healthy()
        event = {"type": "message", "channel": "C1", "user": "U1", "ts": "5.000001",
                 "text": "how do I get a new medicare card?", "channel_type": "channel"}
        assert send_signed(server.events_url, event_body(event), SECRET)[0] == 200
        assert slow_slack.reached.wait(10)  # the reply is in flight: Slack hasn't answered yet
        assert server.proc is not None
        server.proc.terminate()  # SIGTERM, as Heroku sends it
        server.wait_for_line("finishing in-flight replies", timeout=10)
        assert server.running  # waiting for the reply, not gone
        slow_slack.release.set()
        assert server.stop(timeout=30) == 0
    [reply] = slack_standin.calls("chat.postMessage")
    assert reply.params["thread_ts"] == "5.000001"


def test_a_rejected_token_stops_the_server_with_exit_code_2(slack_standin: SlackStandIn,
                                                            tmp_path: Any) -> None:
    env = server_env(slack_standin, token=REVOKED_TOKEN, secret=SECRET)
    with ServerProcess(env, cwd=str(tmp_path)) as server:
        assert server.proc is not None
        assert server.proc.wait(timeout=30) == 2
        line = server.wait_for_line(r"error: Slack rejected SLACK_BOT_TOKEN \(invalid_auth\)", 5)
        assert "OAuth & Permissions" in line.string
    assert REVOKED_TOKEN not in server.log
