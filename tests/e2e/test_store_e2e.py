"""The store behind the real server: the log fills, two servers on one PostgreSQL reply once
per message, a PostgreSQL restart loses no reply, and an unreachable database stops nothing."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.storage.url import default_database_file
from tests.conftest import ROOT, run_cli, server_env, wait_until
from tests.e2e.conftest import (
    CARD_QUESTION,
    FAQ_CHANNEL,
    SECRET,
    TOKEN,
    answered_once,
    asked,
    click_reply,
    deliver,
    message,
    posts_for,
)
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import BOT_USER_ID, SlackStandIn

QUESTIONS = [CARD_QUESTION, "how do i sign up for medicare?", "what is tricare?",
             "will my medicare premiums be higher because of my income?"]


def store_env(slack_standin: SlackStandIn, database_url: str) -> dict[str, str]:
    return server_env(slack_standin, token=TOKEN, secret=SECRET, FAQ_CHANNELS=FAQ_CHANNEL,
                      DATABASE_URL=database_url)


def test_questions_votes_and_choices_are_logged_and_reported(slack_standin, tmp_path):
    with ServerProcess(store_env(slack_standin, ""), cwd=str(tmp_path)) as server:
        server.wait_healthy()
        event, reply = asked(server, slack_standin, CARD_QUESTION)
        assert click_reply(server, reply, "faq_vote_up", thread_ts=event["ts"],
                           response_url=slack_standin.response_url("vote")) == 200
        slack_standin.wait_for("response_url:vote")
        choices, offer = asked(server, slack_standin,  # asked: choices, not silence
                               f"<@{BOT_USER_ID}> How can Medicare help me?")
        assert click_reply(server, offer, "faq_choice_1", thread_ts=choices["ts"],
                           response_url=slack_standin.response_url("pick")) == 200
        slack_standin.wait_for("chat.postMessage", count=3)
        silent = message("lol who broke the build")
        assert deliver(server, silent) == 200
        assert deliver(server, message(CARD_QUESTION)) == 200  # control: handled after
        slack_standin.wait_for("chat.postMessage", count=4)

    assert not Path(tmp_path, "faqbot.sqlite3").exists()  # not in the working folder, but
    db = sqlite3.connect(default_database_file())  # in the per-user data directory
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

    result = run_cli("report", "--json", cwd=ROOT)  # from another folder: the same database
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["questions"] == 4, report
    assert report["decisions"]["none"]["count"] == 1


def test_two_servers_on_one_postgres_reply_once_per_message(slack_standin, postgres):
    url = postgres.new_database()
    env = store_env(slack_standin, url)
    with ServerProcess(env) as one, ServerProcess(env) as two:
        one.wait_healthy()
        two.wait_healthy()
        events = [message(QUESTIONS[n % len(QUESTIONS)]) for n in range(50)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda pair: deliver(*pair),
                                     [(server, e) for e in events for server in (one, two)]))
        assert statuses == [200] * 100
        slack_standin.wait_for("chat.postMessage", count=50, timeout=60)
        control = message(CARD_QUESTION)
        assert deliver(one, control) == 200 and deliver(two, control) == 200
        answered_once(slack_standin, control["ts"])
        assert all(len(posts_for(slack_standin, e["ts"])) == 1 for e in events)
        assert len(slack_standin.calls("chat.postMessage")) == 51
    postgres.drop_database(url)


def test_a_postgres_restart_mid_run_loses_no_reply(slack_standin, postgres):
    url = postgres.new_database()
    with ServerProcess(store_env(slack_standin, url)) as server:
        server.wait_healthy()
        sent = []

        def ask(n: int) -> None:
            event = message(QUESTIONS[n % len(QUESTIONS)])
            sent.append(event)
            assert deliver(server, event) == 200

        for n in range(10):
            ask(n)
        slack_standin.wait_for("chat.postMessage", count=10)
        postgres.run("stop")
        try:
            for n in range(10, 20):
                ask(n)
            slack_standin.wait_for("chat.postMessage", count=20)
        finally:
            postgres.run("start")
        for n in range(20, 30):
            ask(n)
        slack_standin.wait_for("chat.postMessage", count=30)
        assert all(len(posts_for(slack_standin, e["ts"])) == 1 for e in sent)
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


def test_an_unreachable_database_still_answers(slack_standin, tmp_path, closed_port):
    url = f"postgresql://faqbot:hunter2secret@127.0.0.1:{closed_port}/faqbot"
    with ServerProcess(store_env(slack_standin, url), cwd=str(tmp_path)) as server:
        server.wait_healthy()
        events = [message(q) for q in QUESTIONS]
        for event in events:
            assert deliver(server, event) == 200
            assert deliver(server, event, retry_num=1) == 200  # Slack's retry: deduped
        slack_standin.wait_for("chat.postMessage", count=len(events))
        control = message(CARD_QUESTION)
        assert deliver(server, control) == 200
        answered_once(slack_standin, control["ts"])
        assert all(len(posts_for(slack_standin, e["ts"])) == 1 for e in events)
        assert "hunter2secret" not in server.log
        assert server.log.count("cannot use the database") == 1
    assert not Path(tmp_path, "faqbot.sqlite3").exists()
