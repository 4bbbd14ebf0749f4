"""``faqbot check``: a ✓/✗ line per item, a fix under each ✗, exit code 0 only if all pass."""

from __future__ import annotations

from typing import Any

import pytest

from bot.check import run_checks
from bot.cli import main
from bot.config import Settings
from tests.conftest import REVOKED_TOKEN
from tests.standins.slack_standin import SlackStandIn


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, slack_standin: SlackStandIn
        ) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_APP_TOKEN", "FAQ_DATASET", "HF_TOKEN", "FAQ_CHANNELS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_API_URL", slack_standin.api_url)
    monkeypatch.setenv("EMBEDDING_BACKEND", "local")
    return monkeypatch


def test_everything_passes(slack_standin: SlackStandIn, tmp_path: Any) -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-good", "SLACK_SIGNING_SECRET": "s",
                                  "SLACK_API_URL": slack_standin.api_url,
                                  "EMBEDDING_BACKEND": "local",
                                  "DATABASE_URL": f"sqlite:///{tmp_path}/log.sqlite3"})
    results = run_checks(lambda: settings)
    assert all(r.ok for r in results), results
    assert [r.name.split(" (")[0] for r in results] == [
        "configuration", "bot token", "SLACK_SIGNING_SECRET", "Slack API", "database",
        "FAQ dataset", "embedder"]
    assert "@faqbot in Acme" in results[3].detail
    assert "log.sqlite3" in results[4].detail
    assert "kept 90 days (LOG_RETENTION_DAYS)" in results[4].detail
    assert "13 FAQs" in results[5].detail
    [auth] = slack_standin.calls()
    assert (auth.method, auth.token) == ("auth.test", "xoxb-good")


def test_failures_are_listed_with_fixes_and_exit_2(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env.setenv("SLACK_BOT_TOKEN", REVOKED_TOKEN)
    env.setenv("SLACK_SIGNING_SECRET", "s")
    env.setenv("FAQ_DATASET", "/nonexistent/faq.csv")
    assert main(["check"]) == 2
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("✓ configuration")
    assert any(line.startswith("✗ Slack API") and "invalid_auth" in line for line in lines)
    assert any(line.startswith("✗ FAQ dataset") for line in lines)
    assert lines[-1].startswith("✗ embedder") and "skipped" in lines[-1]
    assert sum(line.startswith("    fix: ") for line in lines) == 2
    assert err.strip() == ("error: 3 of 7 checks failed. Fix: apply the fixes listed above "
                           "and run faqbot check again.")
    assert REVOKED_TOKEN not in out + err


def test_missing_transport_and_bad_configuration(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env.delenv("SLACK_BOT_TOKEN", raising=False)
    env.delenv("SLACK_SIGNING_SECRET", raising=False)
    env.setenv("EMBEDDING_BACKEND", "bogus")
    assert main(["check"]) == 2
    assert capsys.readouterr().out.startswith("✗ configuration: EMBEDDING_BACKEND='bogus'")
    env.setenv("EMBEDDING_BACKEND", "local")
    results = run_checks(Settings.from_env)
    failed = {r.name: r for r in results if not r.ok}
    assert {"bot token", "transport", "FAQ dataset"} & failed.keys() == {"bot token",
                                                                         "transport"}
    assert "SLACK_APP_TOKEN" in failed["transport"].fix


def test_an_unreachable_database_is_a_clear_failure(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], closed_port: int) -> None:
    port = closed_port
    env.setenv("SLACK_BOT_TOKEN", "xoxb-good")
    env.setenv("SLACK_SIGNING_SECRET", "s")
    env.setenv("DATABASE_URL", f"postgresql://faqbot:hunter2secret@127.0.0.1:{port}/faqbot")
    assert main(["check"]) == 2
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if line.startswith("✗ database")]
    assert f"127.0.0.1:{port}" in line
    assert "hunter2secret" not in out
    assert "per-process dedupe" in out


def checked(slack: SlackStandIn, tmp_path: Any, **variables: str) -> dict[str, Any]:
    """``run_checks`` on good Slack credentials plus ``variables``: each result by name."""
    env = {"SLACK_BOT_TOKEN": "xoxb-good", "SLACK_API_URL": slack.api_url,
           "EMBEDDING_BACKEND": "local", "FAQ_DATASET": "/nonexistent/faq.csv",
           "DATABASE_URL": f"sqlite:///{tmp_path}/log.sqlite3", **variables}
    return {r.name: r for r in run_checks(lambda: Settings.from_env(env), environ=env)}


def test_the_signing_secret_is_said_to_be_untestable(slack_standin: SlackStandIn,
                                                     tmp_path: Any) -> None:
    secret = checked(slack_standin, tmp_path, SLACK_SIGNING_SECRET="s")["SLACK_SIGNING_SECRET"]
    assert secret.ok
    assert "can't be tested from here" in secret.detail
    assert "signature check" in secret.detail


def test_the_app_token_is_tried_with_apps_connections_open(tmp_path: Any) -> None:
    with SlackStandIn(invalid_token="xapp-revoked") as slack:
        good = checked(slack, tmp_path, SLACK_APP_TOKEN="xapp-1-good")["SLACK_APP_TOKEN"]
        assert good.ok and "apps.connections.open ok" in good.detail
        [opened] = slack.calls("apps.connections.open")
        assert opened.token == "xapp-1-good"
        revoked = checked(slack, tmp_path, SLACK_APP_TOKEN="xapp-revoked")["SLACK_APP_TOKEN"]
        assert not revoked.ok
        assert "invalid_auth" in revoked.detail and "App-Level Tokens" in revoked.fix
        assert "xapp-revoked" not in "\n".join(revoked.lines())


def test_an_invalid_app_token_fails_check_without_showing_it(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env.setenv("SLACK_BOT_TOKEN", "xoxb-good")
    env.setenv("SLACK_APP_TOKEN", "xapp-1-A0-123-deadbeefcafe")  # not this app's: Slack says
    env.setenv("FAQ_DATASET", "/nonexistent/faq.csv")
    slack = SlackStandIn(invalid_token="xapp-1-A0-123-deadbeefcafe").start()
    try:
        env.setenv("SLACK_API_URL", slack.api_url)
        assert main(["check"]) == 2
    finally:
        slack.stop()
    out, err = capsys.readouterr()
    assert "✗ SLACK_APP_TOKEN: Slack refused it: apps.connections.open failed (invalid_auth)" in out
    assert "deadbeefcafe" not in out + err


def test_unknown_variables_are_warned_about_with_the_closest_name(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    (tmp_path / ".env").write_text("FAQ_DATSET=/my/faq.csv\nSLACK_CLIENT_ID=123.456\n")
    env.setenv("EMBEDDING_MODLE", "other/model")
    env.setenv("SLACK_BOT_TOKEN", REVOKED_TOKEN)
    env.setenv("SLACK_SIGNING_SECRET", "s")
    env.setenv("FAQ_DATASET", "/nonexistent/faq.csv")
    main(["check"])
    out = capsys.readouterr().out
    assert ("! unknown variable: FAQ_DATSET (in .env) is not a faqbot setting, so it is "
            "ignored\n    fix: did you mean FAQ_DATASET? Rename it, or remove it") in out
    assert "! unknown variable: EMBEDDING_MODLE is not a faqbot setting" in out
    assert "did you mean EMBEDDING_MODEL?" in out
    assert "SLACK_CLIENT_ID" not in out  # Bolt's own
    assert "/my/faq.csv" not in out and "other/model" not in out


def test_a_warning_is_not_a_failure(slack_standin: SlackStandIn, tmp_path: Any) -> None:
    results = run_checks(lambda: Settings.from_env({}), environ={"FAQ_DATSET": "x"})
    [warning] = [r for r in results if r.warning]
    assert warning.ok and warning.lines()[0].startswith("! unknown variable: FAQ_DATSET")


def test_the_database_in_use_is_shown_with_the_default_and_an_earlier_one(
        env: pytest.MonkeyPatch, slack_standin: SlackStandIn, tmp_path: Any) -> None:
    env.delenv("DATABASE_URL")
    (tmp_path / "faqbot.sqlite3").write_bytes(b"")  # from an older faqbot, run here
    results = checked(slack_standin, tmp_path, DATABASE_URL="")
    from bot.storage.url import default_database_file

    database = results["database"]
    assert database.ok and f"sqlite:///{default_database_file()}" in database.detail
    assert "DATABASE_URL is unset, so this is the default" in database.detail
    earlier = results["earlier database"]
    assert earlier.ok and earlier.warning
    assert f"DATABASE_URL=sqlite:///{tmp_path / 'faqbot.sqlite3'}" in earlier.detail


def test_sqlite_on_heroku_fails_with_the_fix(slack_standin: SlackStandIn, tmp_path: Any) -> None:
    for url in ("", f"sqlite:///{tmp_path}/log.sqlite3"):
        database = checked(slack_standin, tmp_path, DYNO="web.1", DATABASE_URL=url)["database"]
        assert not database.ok and "Heroku" in database.detail
        assert "heroku-postgresql" in database.fix
