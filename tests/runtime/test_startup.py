"""Starting and stopping the servers: refusing bad credentials with one line, exit code 2,
and finishing in-flight replies on SIGTERM."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bot.cli import main
from bot.config import Settings
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import SlackStandIn, event_body, send_signed

SECRET = "serve-test-secret"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "PORT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(("command", "variables", "named", "where"), [
    ("serve", {}, "SLACK_BOT_TOKEN", "OAuth & Permissions"),
    ("serve", {"SLACK_BOT_TOKEN": "xoxp-user-token-0123"}, "SLACK_BOT_TOKEN", "xoxb-"),
    ("serve", {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET", "App Credentials"),
    ("serve", {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": '"abc def"'},
     "SLACK_SIGNING_SECRET", "Signing Secret"),
    ("socket", {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN", "App-Level Tokens"),
    ("socket", {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-wrong-kind-0123"},
     "SLACK_APP_TOKEN", "xapp-"),
])
def test_bad_credentials_stop_startup_with_one_line(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str,
        variables: dict[str, str], named: str, where: str) -> None:
    for name, value in variables.items():
        env.setenv(name, value)
    assert main([command]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert named in err and where in err
    assert not any(value in err for value in variables.values() if len(value) > 6)


def test_bad_ports(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    env.setenv("SLACK_SIGNING_SECRET", "s")
    assert main(["serve", "--port", "70000"]) == 2
    assert "port 70000 is out of range" in capsys.readouterr().err
    env.setenv("PORT", "web")
    assert main(["serve"]) == 2
    assert "PORT='web' is not a port number" in capsys.readouterr().err


def test_port_comes_from_the_option_then_port_then_3000(env: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().port == 3000
    env.setenv("PORT", "5000")
    assert Settings.from_env().port == 5000
    env.setenv("PORT", "0")
    assert Settings.from_env().port == 0


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(invalid_token="xoxb-revoked-token") as fake:
        yield fake


def server_env(standin: SlackStandIn, token: str) -> dict[str, str]:
    return {"SLACK_API_URL": standin.api_url, "SLACK_BOT_TOKEN": token,
            "SLACK_SIGNING_SECRET": SECRET, "EMBEDDING_BACKEND": "local", "FAQ_DATASET": "",
            "FAQ_CHANNELS": "", "PORT": ""}


def test_sigterm_finishes_the_reply_in_flight(standin: SlackStandIn, tmp_path: Any) -> None:
    reached, release = threading.Event(), threading.Event()

    def slow_slack(call: Any) -> dict[str, Any]:
        reached.set()
        release.wait(30)
        return {"ok": True, "channel": call.params["channel"], "ts": "9.000001"}

    standin.set_response("chat.postMessage", slow_slack)
    with ServerProcess(server_env(standin, "xoxb-test-sigterm"), cwd=str(tmp_path)) as server:
        server.wait_healthy()
        event = {"type": "message", "channel": "C1", "user": "U1", "ts": "5.000001",
                 "text": "how do I get a new medicare card?", "channel_type": "channel"}
        assert send_signed(server.events_url, event_body(event), SECRET)[0] == 200
        assert reached.wait(10)  # the reply is in flight: Slack hasn't answered yet
        assert server.proc is not None
        server.proc.terminate()  # SIGTERM, as Heroku sends it
        server.wait_for_line("finishing in-flight replies", timeout=10)
        assert server.running  # waiting for the reply, not gone
        release.set()
        assert server.stop(timeout=30) == 0
    [reply] = standin.calls("chat.postMessage")
    assert reply.params["thread_ts"] == "5.000001"


def test_a_rejected_token_stops_the_server_with_exit_code_2(standin: SlackStandIn,
                                                            tmp_path: Any) -> None:
    with ServerProcess(server_env(standin, "xoxb-revoked-token"), cwd=str(tmp_path)) as server:
        assert server.proc is not None
        assert server.proc.wait(timeout=30) == 2
        line = server.wait_for_line(r"error: Slack rejected SLACK_BOT_TOKEN \(invalid_auth\)", 5)
        assert "OAuth & Permissions" in line.string
    assert "xoxb-revoked-token" not in server.log


def test_socket_mode_with_a_rejected_app_token_exits_2(
        env: pytest.MonkeyPatch, standin: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in server_env(standin, "xoxb-test-socket").items():
        env.setenv(name, value)
    env.setenv("SLACK_APP_TOKEN", "xapp-1-not-accepted-here")
    assert main(["socket"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: Slack rejected SLACK_APP_TOKEN (not_authed)")
    opened = standin.calls("apps.connections.open")
    assert [c.token for c in opened] == ["xapp-1-not-accepted-here"]  # via SLACK_API_URL
