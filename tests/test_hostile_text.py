"""Text Slack can send: a lone surrogate is replaced and still answered, NUL bytes are
stripped before storing, and a row the database refuses is dropped without taking the
store into its outage fallback (which would make dedupe process-local and drop log rows)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot.config import Settings
from bot.faq.answerer import Answerer
from bot.slack.app import create_app
from bot.slack.text import clean
from bot.storage import Store, schema
from tests.conftest import logged_answer, table_rows, wait_until
from tests.standins.postgres import PgServer
from tests.standins.slack_standin import SlackStandIn, event_body, signed_headers

SECRET = "hostile-text-secret"
NO_RETRY_SOON = 3600.0  # a store that tripped into its fallback stays there for the test


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url, retry_interval=NO_RETRY_SOON)
    yield store
    store.close()


def logged(url: str, timeout: float = 10.0) -> list[dict]:
    """The question rows, once there are any: they are written after the reply is posted."""
    wait_until(lambda: bool(table_rows(url, schema.questions)), timeout, "a logged question")
    return table_rows(url, schema.questions)


def log(store: Store, ts: str, text: str, score: float = 0.7) -> None:
    store.log_question(team="T1", channel="C1", ts=ts, user="U1", text=text,
                       answer=logged_answer("answer", ("card", score)), latency_ms=1.0)


def test_clean_replaces_lone_surrogates() -> None:
    assert clean("new card\ud800?\udfff") == "new card\ufffd?\ufffd"
    assert clean("card 😀") == "card 😀"  # a real astral character is left alone


def test_a_question_with_a_lone_surrogate_is_answered_and_logged(
        slack_standin: SlackStandIn, answerer: Answerer, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    store = Store.from_url(url)
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-hostile", "SLACK_SIGNING_SECRET":
                                  SECRET, "SLACK_API_URL": slack_standin.api_url})
    app: App = create_app(settings, answerer, deduper=store, recorder=store)
    body = event_body({"type": "message", "channel": "C1", "user": "U1", "ts": "1.1",
                       "channel_type": "channel",
                       "text": "how do I get a new medicare card?\ud800"})
    assert b"\\ud800" in body  # the JSON escape Slack sends, not an already-replaced text
    response = app.dispatch(BoltRequest(body=body.decode(), headers=signed_headers(body, SECRET)))
    assert response.status == 200
    [reply] = slack_standin.wait_for("chat.postMessage", timeout=10)
    assert reply.params["thread_ts"] == "1.1"
    [row] = logged(url)
    assert row["text"] == "how do I get a new medicare card?\ufffd"
    store.close()


def test_nul_bytes_and_surrogates_are_cleaned_before_storing(store: Store,
                                                             database_url: str) -> None:
    log(store, "1.1", "new\x00 card\ud800")
    store.log_vote(team="T1", channel="C1", message_ts="1.2\x00", user="U1", faq_id="c\x00ard",
                   vote="up")
    assert store.claim("T1", "C\x00", "1.3")
    [question] = table_rows(database_url, schema.questions)
    assert question["text"] == "new card\ufffd"
    [vote] = table_rows(database_url, schema.votes)
    assert (vote["message_ts"], vote["faq_id"]) == ("1.2", "card")
    assert ("T1", "C", "1.3") in {(c["team"], c["channel"], c["ts"])
                                  for c in table_rows(database_url, schema.claims)}


def test_a_row_the_database_refuses_never_trips_the_outage_fallback(
        postgres: PgServer, caplog: pytest.LogCaptureFixture) -> None:
    """A NaN score is invalid JSON to PostgreSQL: a DataError for that row only."""
    url = postgres.new_database()
    first = Store.from_url(url, retry_interval=NO_RETRY_SOON)
    second = Store.from_url(url, retry_interval=NO_RETRY_SOON)
    try:
        with caplog.at_level(logging.INFO, logger="bot.storage"):
            log(first, "1.1", "private question", score=float("nan"))
            log(first, "1.2", "kept")
            assert first.claim("T1", "C1", "1.3")
            assert not second.claim("T1", "C1", "1.3")  # still shared: not process-local
        assert [row["text"] for row in table_rows(url, schema.questions)] == ["kept"]
        messages = [record.getMessage() for record in caplog.records]
        assert not any("cannot use the database" in message for message in messages)
        [refused] = [m for m in messages if "refused a row" in m]
        assert "private question" not in refused  # the statement's values stay out of logs
    finally:
        first.close()
        second.close()
        postgres.drop_database(url)
