"""DATABASE_URL unset: one SQLite file in the per-user data directory, whichever folder a
command runs in; a database an older faqbot left in the working folder is warned about; and on
Heroku SQLite is refused, since its disk is wiped on every restart."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import Settings
from bot.errors import UserError
from bot.storage import describe_database, open_store
from bot.storage.url import default_database_file, parse_url

PASSWORD = "s3cret-pw"


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """DATABASE_URL unset, run from an empty folder; the data directory, not yet made."""
    monkeypatch.delenv("DATABASE_URL")
    folder = tmp_path / "somewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return tmp_path / "data"


def test_the_default_is_in_the_user_data_directory_not_the_working_folder(
        unset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = unset / "faqbot" / "faqbot.sqlite3"  # XDG_DATA_HOME/faqbot on Linux
    assert default_database_file() == expected
    assert parse_url(None).database == parse_url("").database == str(expected)
    monkeypatch.chdir(tmp_path)  # another folder: the same file
    assert parse_url("").database == str(expected)


def test_a_fresh_machine_gets_the_folder_made_and_the_same_store_from_anywhere(
        unset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not unset.exists()
    store = open_store(Settings.from_env({}))
    try:
        assert store.claim("T1", "C1", "1.000001")
    finally:
        store.close()
    assert default_database_file().is_file()
    assert not (Path.cwd() / "faqbot.sqlite3").exists()
    monkeypatch.chdir(tmp_path)
    store = open_store(Settings.from_env({}))
    try:
        assert not store.claim("T1", "C1", "1.000001")  # claimed from the other folder
    finally:
        store.close()


def test_an_earlier_default_in_the_working_folder_is_warned_about(
        unset: Path, caplog: pytest.LogCaptureFixture) -> None:
    old = Path.cwd() / "faqbot.sqlite3"
    old.write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        open_store(Settings.from_env({})).close()
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert str(old) in warning and str(default_database_file()) in warning
    keep = warning.split("set ", 1)[1]
    assert keep == f"DATABASE_URL=sqlite:///{old}"
    assert parse_url(keep.split("=", 1)[1]).database == str(old)  # the advice works
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # followed: no warning
        open_store(Settings.from_env({"DATABASE_URL": f"sqlite:///{old}"})).close()
    assert not caplog.records


@pytest.mark.parametrize("url", ["", "sqlite:///faq.sqlite3"])
def test_sqlite_is_refused_on_heroku(url: str, unset: Path) -> None:
    with pytest.raises(UserError) as error:
        open_store(Settings.from_env({"DYNO": "web.1", "DATABASE_URL": url}))
    assert "Heroku" in error.value.problem and "SQLite" in error.value.problem
    assert "heroku-postgresql" in error.value.fix and "DATABASE_URL" in error.value.fix
    assert not unset.exists() and not Path("faq.sqlite3").exists()  # nothing was made


def test_postgres_on_heroku_is_fine(unset: Path, closed_port: int) -> None:
    """Opening doesn't connect (the store retries a database that is down)."""
    url = f"postgres://u:{PASSWORD}@127.0.0.1:{closed_port}/faq"
    open_store(Settings.from_env({"DYNO": "web.1", "DATABASE_URL": url})).close()


def test_the_database_is_described_redacted() -> None:
    shown = describe_database(f"postgresql://u:{PASSWORD}@db.example/faq?password={PASSWORD}")
    assert PASSWORD not in shown and "db.example/faq" in shown
    assert describe_database("") == (f"sqlite:///{default_database_file()} "
                                     "(DATABASE_URL unset: the default)")
