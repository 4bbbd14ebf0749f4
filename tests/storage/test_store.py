"""The store on real SQLite and real PostgreSQL: exactly-once claims across threads and
processes, surviving a server restart or its absence, and what the log holds (URLs are in
test_url.py, the report in tests/report/)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url

from bot.cli import main
from bot.errors import UserError
from bot.storage import Store, schema
from bot.storage.privacy import user_hash
from bot.storage.url import parse_url
from tests.conftest import ROOT, wait_until
from tests.conftest import logged_answer as answer
from tests.conftest import table_rows as rows

PASSWORD = "s3cret-pw"


# --- dedupe ----------------------------------------------------------------------------------

def test_claim_is_exactly_once_across_threads(store):
    keys = [("T1", "C1", f"{n}.000200") for n in range(20)]
    barrier = threading.Barrier(8)
    wins: list[tuple[str, str, str]] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        for key in keys:
            if store.claim(*key):
                with lock:
                    wins.append(key)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == sorted(keys)


def test_claim_is_exactly_once_across_processes(database_url):
    workers = [subprocess.Popen([sys.executable, "-m", "tests.standins.claim_worker", database_url,
                                 "50", "4"], cwd=ROOT, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    for worker in workers:  # both have opened the store (and raced to create the schema)
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    won = [json.loads(worker.communicate(timeout=60)[0]) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    assert sorted(won[0] + won[1]) == list(range(50))


def test_a_postgres_restart_loses_no_claim(postgres, caplog):
    url = postgres.new_database()
    store = Store.from_url(url, retry_interval=0)
    before = [("T1", "C1", f"{n}.1") for n in range(5)]
    during = [("T1", "C1", f"{n}.2") for n in range(5)]
    assert all(store.claim(*key) for key in before)
    caplog.set_level(logging.INFO, logger="bot.storage")

    postgres.run("stop")
    try:
        assert not any(store.claim(*key) for key in before)  # remembered in-process
        assert all(store.claim(*key) for key in during)  # claimed in-process
        assert not any(store.claim(*key) for key in during)
        store.log_vote(team="T1", channel="C1", message_ts="1.1", user="U1", faq_id="a",
                       vote="up")
        with pytest.raises(UserError) as down:
            store.ping()
        # The cause, as the driver saw it: refused, or cut off by a server still stopping.
        problem = down.value.problem.lower()
        assert "refused" in problem or "closed the connection" in problem, problem
    finally:
        postgres.run("start")

    after = ("T1", "C1", "0.3")
    assert store.claim(*after)
    wait_until(lambda: answers_ping(store), what="the store answering ping again")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert any("is back" in r.getMessage() for r in caplog.records)

    other_dyno = Store.from_url(url)
    assert not any(other_dyno.claim(*key) for key in [*before, *during, after])
    other_dyno.close()
    store.close()
    postgres.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def unreachable_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'not-yet' / 'log.sqlite3'}"
        return
    yield f"postgresql://faqbot:{PASSWORD}@127.0.0.1:{request.getfixturevalue('closed_port')}/x"


def test_an_unreachable_database_does_not_stop_the_bot(unreachable_url, caplog):
    caplog.set_level(logging.DEBUG, logger="bot.storage")
    store = Store.from_url(unreachable_url, retry_interval=0)
    assert store.claim("T1", "C1", "1.5")
    assert not store.claim("T1", "C1", "1.5")
    store.log_question(team="T1", channel="C1", ts="1.5", user="U1", text="hello?",
                       answer=answer("none", ("a", 0.2)), latency_ms=4.0)
    store.log_choice(team="T1", channel="C1", message_ts="1.5", user="U1", chosen="a",
                     shown=["b", "a"])
    with pytest.raises(UserError) as down:
        store.ping()
    problem = down.value.one_line()
    assert "cannot use" in problem and PASSWORD not in problem
    assert [r.levelno for r in caplog.records].count(logging.WARNING) == 1
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)
    store.close()


def test_sqlite_claims_made_while_unreachable_are_written_once_it_is_there(tmp_path):
    path = tmp_path / "not-yet" / "log.sqlite3"
    store = Store.from_url(f"sqlite:///{path}", retry_interval=0)
    assert store.claim("T1", "C1", "1.6")
    path.parent.mkdir()
    assert answers_ping(store)
    other_dyno = Store.from_url(f"sqlite:///{path}")
    assert not other_dyno.claim("T1", "C1", "1.6")
    assert other_dyno.claim("T1", "C1", "1.7")
    other_dyno.close()
    store.close()


# --- what is logged ----------------------------------------------------------------------------

def test_the_log_holds_pseudonyms_decisions_and_candidates(store, database_url):
    store.log_question(team="T1", channel="C1", ts="2.1", user="U123", text="Lost my card",
                       answer=answer("answer", ("replacement-card", 0.84123), ("other", 0.5)),
                       latency_ms=12.5, direct=True)
    (row,) = rows(database_url, schema.questions)
    assert row["user_hash"] == user_hash("T1", "U123") and "U123" not in json.dumps(row,
                                                                                    default=str)
    assert (row["text"], row["decision"], row["direct"], row["latency_ms"]) == (
        "Lost my card", "answer", True, 12.5)
    assert row["candidates"] == [{"id": "replacement-card", "score": 0.8412},
                                 {"id": "other", "score": 0.5}]
    with pytest.raises(ValueError, match="up' or 'down"):
        store.log_vote(team="T1", channel="C1", message_ts="2.1", user="U1", faq_id="x",
                       vote="meh")


def test_log_question_text_false_stores_no_text(database_url, capsys, monkeypatch):
    store = Store.from_url(database_url, log_question_text=False)
    for n, text in enumerate(["Where is the secret bunker?", "where is the SECRET bunker? ",
                              "Who owns the yacht?"]):
        store.log_question(team="T1", channel="C1", ts=f"3.{n}", user=f"U{n}", text=text,
                           answer=answer("none", ("a", 0.1)), latency_ms=1.0)
    store.close()
    logged = json.dumps(rows(database_url, schema.questions), default=str).lower()
    assert "bunker" not in logged and "yacht" not in logged
    if database_url.startswith("sqlite"):
        database = Path(make_url(database_url).database)
        for path in database.parent.glob(database.name + "*"):
            assert b"bunker" not in path.read_bytes().lower()

    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["report", "--json"]) == 0
    unanswered = json.loads(capsys.readouterr().out)["unanswered"]
    assert unanswered["grouping"] == "exact hash"
    assert [(g["count"], g["question"], g["grouped_by"]) for g in unanswered["groups"]] == [
        (2, None, "exact hash"), (1, None, "exact hash")]
    assert main(["report"]) == 0
    assert "texts were not logged (LOG_QUESTION_TEXT=false)" in capsys.readouterr().out


def test_expired_claims_are_pruned(store, database_url):
    from datetime import timedelta

    from sqlalchemy import update

    from bot.storage import schema

    assert store.claim("T1", "C1", "old.1") and store.claim("T1", "C1", "new.1")
    engine = create_engine(parse_url(database_url))
    with engine.begin() as db:
        db.execute(update(schema.claims).where(schema.claims.c.ts == "old.1")
                   .values(at=schema.utcnow() - timedelta(days=2)))
    store.prune_claims()
    with engine.connect() as db:
        left = {row.ts for row in db.execute(schema.claims.select())}
    engine.dispose()
    assert left == {"new.1"}


def answers_ping(store: Store) -> bool:
    try:
        store.ping()
    except UserError:
        return False
    return True


def test_suggestions_filter_by_confirmations_most_confirmed_first(store):
    for text, users in (("one user", 1), ("three users", 3), ("two users", 2)):
        for n in range(users):
            store.confirm_suggestion(team="T1", faq_id="f", text=text, user=f"U{n}")
    assert [s.text for s in store.suggestions()] == ["three users", "two users", "one user"]
    assert [s.users for s in store.suggestions(at_least=2)] == [3, 2]
    assert [s.text for s in store.suggestions(at_least=2, limit=1)] == ["three users"]
    store.confirm_suggestion(team="T1", faq_id="g", text="another FAQ's", user="U1")
    assert [s.text for s in store.suggestions(faq_id="g")] == ["another FAQ's"]
    assert len(store.suggestions(faq_id="f")) == 3
