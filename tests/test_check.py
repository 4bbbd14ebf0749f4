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
