"""LOG_RETENTION_DAYS behind real servers: two processes on one database (SQLite or
PostgreSQL) both run the purge at start, over a log far larger than one batch, and keep
answering while it runs; what they log meanwhile is kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine

from bot.storage import Store, schema
from bot.storage.url import parse_url
from tests.conftest import server_env, table_rows, wait_until
from tests.e2e.conftest import (
    CARD_QUESTION,
    FAQ_CHANNEL,
    SECRET,
    TOKEN,
    asked,
    shared_database,
)
from tests.standins.server_process import ServerProcess

OLD_QUESTIONS = 20_000  # 40 batches


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path) -> Iterator[str]:
    """A database whose log holds ``OLD_QUESTIONS`` questions asked two days ago."""
    with shared_database(request, tmp_path) as url:
        Store.from_url(url).close()
        engine = create_engine(parse_url(url))
        long_ago = schema.utcnow() - timedelta(days=2)
        with engine.begin() as connection:
            connection.execute(schema.questions.insert(), [
                {"at": long_ago, "team": "T1", "channel": "C9", "ts": f"{n}.0",
                 "user_hash": "u" * 64, "text": f"old question {n}", "text_hash": "h" * 64,
                 "decision": "none", "direct": False, "candidates": [], "latency_ms": 1.0}
                for n in range(OLD_QUESTIONS)])
        engine.dispose()
        yield url


def test_every_server_purges_and_keeps_answering(slack_standin, old_database):
    env = server_env(slack_standin, token=TOKEN, secret=SECRET, FAQ_CHANNELS=FAQ_CHANNEL,
                     DATABASE_URL=old_database, LOG_RETENTION_DAYS="1")
    with ServerProcess(env) as one, ServerProcess(env) as two:
        one.wait_healthy()
        two.wait_healthy()
        for server in (one, two, one, two):
            asked(server, slack_standin, CARD_QUESTION)

        def purged() -> int:
            return sum(row["text"] is None for row in table_rows(old_database,
                                                                  schema.questions))

        wait_until(lambda: purged() == OLD_QUESTIONS, timeout=60, what="the old log purged")
        logs = one.log + two.log
    fresh = [row for row in table_rows(old_database, schema.questions) if row["text"]]
    assert [row["text"] for row in fresh] == [CARD_QUESTION] * 4
    assert all(row["user_hash"] and row["channel"] == FAQ_CHANNEL for row in fresh)
    assert "cannot use the database" not in logs
    assert "purged the log past LOG_RETENTION_DAYS=1" in logs
