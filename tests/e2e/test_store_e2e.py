"""The store behind the real server: the log fills, two servers on one PostgreSQL reply once
per message, a PostgreSQL restart loses no reply, and an unreachable database stops nothing."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import clean_env, run_cli
from tests.e2e.test_slack_e2e import (
    CARD_QUESTION,
    FAQ_CHANNEL,
    SECRET,
    TOKEN,
    action_payload,
    answered_once,
    deliver,
    message,
    posts_for,
    send_signed,
)
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import SlackStandIn

QUESTIONS = [CARD_QUESTION, "how do i sign up for medicare?", "what is tricare?",
             "will my medicare premiums be higher because of my income?"]


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as fake:
        yield fake


def server_env(standin: SlackStandIn, database_url: str) -> dict[str, str]:
    return clean_env(SLACK_API_URL=standin.api_url, SLACK_BOT_TOKEN=TOKEN,
                     SLACK_SIGNING_SECRET=SECRET, EMBEDDING_BACKEND="local",
                     FAQ_CHANNELS=FAQ_CHANNEL, DATABASE_URL=database_url, PORT="")


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)  # polling a database from outside: no event to wait on


def test_questions_votes_and_choices_are_logged_and_reported(standin, tmp_path):
    with ServerProcess(server_env(standin, ""), cwd=str(tmp_path)) as server:
        server.wait_healthy()
        event = message(CARD_QUESTION)
        assert deliver(server, event) == 200
        reply = answered_once(standin, event["ts"])
        vote = action_payload(reply.params["blocks"], "faq_vote_up",
                              response_url=standin.response_url("vote"),
                              message_ts=reply.response["ts"], thread_ts=event["ts"])
        assert send_signed(server.events_url, vote, SECRET)[0] == 200
        standin.wait_for("response_url:vote")
        choices = message("How can Medicare help me?")
        assert deliver(server, choices) == 200
        offer = answered_once(standin, choices["ts"])
        click = action_payload(offer.params["blocks"], "faq_choice_1",
                               response_url=standin.response_url("pick"),
                               message_ts=offer.response["ts"], thread_ts=choices["ts"])
        assert send_signed(server.events_url, click, SECRET)[0] == 200
        standin.wait_for("chat.postMessage", count=3)
        silent = message("lol who broke the build")
        assert deliver(server, silent) == 200
        assert deliver(server, message(CARD_QUESTION)) == 200  # control: handled after
        standin.wait_for("chat.postMessage", count=4)

    db = sqlite3.connect(tmp_path / "faqbot.sqlite3")
    rows = db.execute("SELECT ts, decision, text, user_hash FROM faqbot_questions").fetchall()
    by_ts = {ts: (decision, text, user) for ts, decision, text, user in rows}
    assert by_ts[event["ts"]][:2] == ("answer", CARD_QUESTION)
    assert by_ts[choices["ts"]][0] == "choices"
    assert by_ts[silent["ts"]][0] == "none"
    assert "U1" not in {user for *_, user in by_ts.values()}  # pseudonyms only
    assert db.execute("SELECT faq_id, vote FROM faqbot_votes").fetchall() == [
        ("replacement-card", "up")]
    [(chosen, shown)] = db.execute("SELECT chosen, shown FROM faqbot_choices").fetchall()
    assert chosen == "what-is-medicare"
    assert json.loads(shown) == ["premium-help", "what-is-medicare", "sign-up"]

    result = run_cli("report", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["questions"] == 4, report
    assert report["decisions"]["none"]["count"] == 1


def test_two_servers_on_one_postgres_reply_once_per_message(standin, postgres):
    url = postgres.new_database()
    env = server_env(standin, url)
    with ServerProcess(env) as one, ServerProcess(env) as two:
        one.wait_healthy()
        two.wait_healthy()
        events = [message(QUESTIONS[n % len(QUESTIONS)]) for n in range(50)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda pair: deliver(*pair),
                                     [(server, e) for e in events for server in (one, two)]))
        assert statuses == [200] * 100
        standin.wait_for("chat.postMessage", count=50, timeout=60)
        control = message(CARD_QUESTION)
        assert deliver(one, control) == 200 and deliver(two, control) == 200
        answered_once(standin, control["ts"])
        assert all(len(posts_for(standin, e["ts"])) == 1 for e in events)
        assert len(standin.calls("chat.postMessage")) == 51
    postgres.drop_database(url)


def test_a_postgres_restart_mid_run_loses_no_reply(standin, postgres):
    url = postgres.new_database()
    with ServerProcess(server_env(standin, url)) as server:
        server.wait_healthy()
        sent = []

        def ask(n: int) -> None:
            event = message(QUESTIONS[n % len(QUESTIONS)])
            sent.append(event)
            assert deliver(server, event) == 200

        for n in range(10):
            ask(n)
        standin.wait_for("chat.postMessage", count=10)
        postgres.run("stop")
        try:
            for n in range(10, 20):
                ask(n)
            standin.wait_for("chat.postMessage", count=20)
        finally:
            postgres.run("start")
        for n in range(20, 30):
            ask(n)
        standin.wait_for("chat.postMessage", count=30)
        assert all(len(posts_for(standin, e["ts"])) == 1 for e in sent)
        # It reconnects (retried every 10 s): later questions reach the log again.
        import psycopg

        def logged_after_restart() -> bool:
            ask(99)
            with psycopg.connect(url) as db:
                stamps = {ts for (ts,) in db.execute("SELECT ts FROM faqbot_questions")}
            return sent[-1]["ts"] in stamps or sent[-2]["ts"] in stamps

        wait_until(logged_after_restart, timeout=30)
        # One warning for the outage, not one per message.
        assert server.log.count("cannot use the database") == 1, server.log
    postgres.drop_database(url)


def test_an_unreachable_database_still_answers(standin, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://faqbot:hunter2secret@127.0.0.1:{port}/faqbot"
    with ServerProcess(server_env(standin, url), cwd=str(tmp_path)) as server:
        server.wait_healthy()
        events = [message(q) for q in QUESTIONS]
        for event in events:
            assert deliver(server, event) == 200
            assert deliver(server, event, retry_num=1) == 200  # Slack's retry: deduped
        standin.wait_for("chat.postMessage", count=len(events))
        control = message(CARD_QUESTION)
        assert deliver(server, control) == 200
        answered_once(standin, control["ts"])
        assert all(len(posts_for(standin, e["ts"])) == 1 for e in events)
        assert "hunter2secret" not in server.log
        assert server.log.count("cannot use the database") == 1
    assert not Path(tmp_path, "faqbot.sqlite3").exists()
