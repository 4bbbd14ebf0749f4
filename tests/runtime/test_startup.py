"""Starting the servers in-process: bad credentials and ports are refused with one line and
exit code 2, before anything listens. (The server subprocess is in tests/e2e/test_serve.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from bot.cli import main
from tests.conftest import server_env
from tests.standins.slack_standin import SlackStandIn

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


def test_socket_mode_with_a_rejected_app_token_exits_2(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with SlackStandIn(invalid_token="xapp-1-not-accepted-here") as slack_standin:
        for name, value in server_env(slack_standin, token="xoxb-test-socket",
                                      secret=SECRET).items():
            env.setenv(name, value)
        env.setenv("SLACK_APP_TOKEN", "xapp-1-not-accepted-here")
        assert main(["socket"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: Slack rejected SLACK_APP_TOKEN (invalid_auth)")
    opened = slack_standin.calls("apps.connections.open")
    assert [c.token for c in opened] == ["xapp-1-not-accepted-here"]  # via SLACK_API_URL
