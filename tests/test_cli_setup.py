"""Setup mistakes, as a user makes them from a terminal: each one explains itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage.url import default_database_file
from tests.conftest import clean_env, run_cli

PASSWORD = "hunter2secret"


def test_faq_add_from_one_folder_is_seen_from_another(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DATABASE_URL unset: every folder shares the per-user database (it used to be a
    faqbot.sqlite3 in whichever folder the command ran in)."""
    monkeypatch.delenv("DATABASE_URL")
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
    monkeypatch.chdir(tmp_path / "one")
    assert main(["faq", "add", "--question", "Where do I park?", "--answer", "Level -2.",
                 "--id", "parking"]) == 0
    monkeypatch.chdir(tmp_path / "two")
    capsys.readouterr()
    assert main(["faq", "list", "--json"]) == 0
    assert "parking" in {row["id"] for row in json.loads(capsys.readouterr().out)}
    assert default_database_file().is_file()
    assert not list(tmp_path.glob("*/faqbot.sqlite3"))


@pytest.mark.parametrize(("url", "shown"), [
    ("", "sqlite:///{default} (DATABASE_URL unset: the default)"),
    (f"postgresql://faqbot:{PASSWORD}@db.example/faq", "postgresql+psycopg://***@db.example/faq"),
])
def test_verbose_output_names_the_database(url: str, shown: str, tmp_path: Path) -> None:
    result = run_cli("-v", "ask", " ", env=clean_env(DATABASE_URL=url), cwd=tmp_path)
    assert result.returncode == 2  # an empty question: refused before anything is loaded
    assert f"database: {shown.format(default=default_database_file())}" in result.stderr
    assert PASSWORD not in result.stderr


def test_a_channel_name_in_faq_channels_is_refused_in_one_line(tmp_path: Path) -> None:
    env = clean_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s",
                    FAQ_CHANNELS="#general")
    result = run_cli("serve", "--port", "0", env=env, cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: FAQ_CHANNELS holds '#general', which is not a channel id")
    assert "C012AB3CD" in line


def test_serve_on_heroku_refuses_sqlite_before_listening(tmp_path: Path) -> None:
    env = clean_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", DYNO="web.1")
    result = run_cli("serve", "--port", "0", env=env, cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "Heroku (DYNO is set)" in line and "heroku-postgresql" in line
    assert not default_database_file().exists()
