"""The housekeeping thread: it purges past LOG_RETENTION_DAYS at start and on its period,
stops promptly, and is not started when the log is kept for ever."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, update

from bot.config import Settings
from bot.runtime.housekeeping import Housekeeping, housekeeping_for
from bot.storage import Store, schema
from bot.storage.url import parse_url
from tests.conftest import logged_answer, table_rows, wait_until


@pytest.fixture
def old_log(tmp_path):
    """A store whose log holds 30 questions asked 3 days ago, and one asked today."""
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    store = Store.from_url(url)
    for n in range(31):
        store.log_question(team="T1", channel="C1", ts=f"{n}.0", user="U1", text=f"q{n}",
                           answer=logged_answer("none"), latency_ms=1.0)
    engine = create_engine(parse_url(url))
    with engine.begin() as connection:
        connection.execute(update(schema.questions).where(schema.questions.c.ts != "30.0")
                           .values(at=schema.utcnow() - timedelta(days=3)))
    engine.dispose()
    yield store, url
    store.close()


def texts(url: str) -> list[str | None]:
    return [row["text"] for row in table_rows(url, schema.questions)]


def test_the_thread_purges_at_start_and_stops(old_log, caplog):
    store, url = old_log
    caplog.set_level(logging.INFO, logger="bot.runtime.housekeeping")
    housekeeping = Housekeeping(store, retention_days=2).start()
    try:
        wait_until(lambda: texts(url).count(None) == 30, what="the old questions purged")
    finally:
        housekeeping.stop()
    assert texts(url)[-1] == "q30"  # today's is kept
    assert not housekeeping._thread.is_alive()
    assert "LOG_RETENTION_DAYS=2: 30 questions" in caplog.text
    assert "q1" not in caplog.text  # what was purged is never logged


def test_one_run_purges_and_the_next_finds_nothing_left(old_log):
    housekeeping = Housekeeping(old_log[0], retention_days=2)
    assert housekeeping.run_once().questions == 30
    assert housekeeping.run_once().total == 0


def test_retention_within_the_day_is_kept(old_log):
    store, url = old_log
    assert Housekeeping(store, retention_days=4).run_once().total == 0
    assert None not in texts(url)


def test_keep_for_ever_needs_no_thread(old_log):
    store, _ = old_log
    assert housekeeping_for(Settings.from_env({"LOG_RETENTION_DAYS": "0"}), store) is None
    with pytest.raises(ValueError, match="keep for ever"):
        Housekeeping(store, retention_days=0)
    default = housekeeping_for(Settings.from_env({}), store)
    assert default.retention == timedelta(days=90)


def test_a_database_that_is_down_is_tried_next_time(tmp_path, closed_port):
    store = Store.from_url(f"postgresql://u:p@127.0.0.1:{closed_port}/db", retry_interval=0)
    try:
        assert Housekeeping(store, retention_days=1).run_once() is None
    finally:
        store.close()
