"""The store on real SQLite and real PostgreSQL: exactly-once claims across threads and
processes, surviving a server restart or its absence, privacy, and `faqbot report`."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, select

from bot.cli import main
from bot.config import Settings
from bot.errors import UserError
from bot.faq.policy import Answer, Hit
from bot.storage import Store, schema
from bot.storage.privacy import user_hash
from bot.storage.url import parse_url
from tests.conftest import ROOT
from tests.standins.postgres import PgServer

PASSWORD = "s3cret-pw"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.sqlite3'}"
        return
    server: PgServer = request.getfixturevalue("postgres")
    url = server.new_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def store(database_url) -> Iterator[Store]:
    store = Store.from_url(database_url)
    yield store
    store.close()


def hit(faq_id: str, score: float) -> Hit:
    return Hit(row=0, id=faq_id, question=f"{faq_id}?", answer="…", url="", score=score)


def answer(decision: str, *ids_scores: tuple[str, float]) -> Answer:
    hits = tuple(hit(faq_id, score) for faq_id, score in ids_scores)
    shown = {"answer": hits[:1], "choices": hits[:3], "none": ()}[decision]
    return Answer(decision=decision, shown=shown, candidates=hits)


def rows(url: str, table) -> list[dict]:
    engine = create_engine(parse_url(url))
    try:
        with engine.connect() as connection:
            return [dict(row) for row in connection.execute(select(table)).mappings()]
    finally:
        engine.dispose()


def wait_until(condition, timeout: float = 10.0) -> None:
    """Bounded polling: each check is a real round trip, so no sleep is needed."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"


def closed_port() -> socket.socket:
    """A port bound but not listening: connecting to it is refused, and nobody else gets it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


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
        assert "refused" in down.value.problem.lower()
    finally:
        postgres.run("start")

    after = ("T1", "C1", "0.3")
    assert store.claim(*after)
    wait_until(lambda: answers_ping(store))
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
    sock = closed_port()
    yield f"postgresql://faqbot:{PASSWORD}@127.0.0.1:{sock.getsockname()[1]}/x"
    sock.close()


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


@pytest.mark.parametrize(("raw", "expected"), [("", True), ("true", True), ("YES", True),
                                               ("1", True), ("false", False), ("No", False),
                                               ("0", False)])
def test_log_question_text_setting(raw, expected):
    assert Settings.from_env({"LOG_QUESTION_TEXT": raw}).log_question_text is expected


def test_log_question_text_setting_is_strict():
    with pytest.raises(UserError, match="LOG_QUESTION_TEXT='flase'"):
        Settings.from_env({"LOG_QUESTION_TEXT": "flase"})


# --- DATABASE_URL --------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [f"postgres://u:{PASSWORD}@db.example:5432/faq",
                                 f"postgresql://u:{PASSWORD}@db.example:5432/faq",
                                 f"postgresql+psycopg://u:{PASSWORD}@db.example:5432/faq"])
def test_postgres_urls_use_psycopg_3(raw):
    url = parse_url(raw)
    assert url.render_as_string() == "postgresql+psycopg://u:***@db.example:5432/faq"


def test_the_default_is_a_sqlite_file_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_url("").database == str(tmp_path / "faqbot.sqlite3")


@pytest.mark.parametrize("raw", [f"mysql://u:{PASSWORD}@h/db", "sqlite://", f"{PASSWORD}"])
def test_unsupported_urls_are_user_errors_without_the_password(raw):
    with pytest.raises(UserError) as error:
        Store.from_url(raw)
    assert "DATABASE_URL" in error.value.one_line()
    assert PASSWORD not in error.value.one_line()


# --- faqbot report -----------------------------------------------------------------------------

VPN = ["how do I reset my VPN password?", "vpn password reset",
       "I forgot my VPN password, how can I reset it?", "how can i change my vpn password",
       "VPN password expired, how do I reset it?", "reset vpn password please",
       "what's the process to reset the VPN password?",
       "my vpn password doesn't work anymore, how to reset", "need to reset my VPN password"]
PARKING = ["where can I park at the office?", "is there parking at the office?",
           "where do visitors park at the office?"]


def seed(store: Store) -> None:
    def ask(ts: str, user: str, text: str, decision: str, *hits, direct=False) -> None:
        store.log_question(team="T1", channel="C1", ts=ts, user=user, text=text,
                           answer=answer(decision, *hits), latency_ms=5.0, direct=direct)

    for n, text in enumerate(VPN):
        ask(f"10.{n}", f"U{n}", text, "none", ("replacement-card", 0.30 + n / 100),
            direct=n < 2)
    for n, text in enumerate(PARKING):
        ask(f"11.{n}", "U20" if n < 2 else "U21", text, "none", ("enroll", 0.2))
    for n in range(4):
        ask(f"12.{n}", f"U3{n}", "i lost my medicare card", "answer", ("replacement-card", 0.8))
    for n in range(2):
        ask(f"13.{n}", "U40", "how can medicare help me", "choices", ("premium-help", 0.75),
            ("part-b", 0.74), ("enroll", 0.73))

    def vote(user: str, faq_id: str, value: str) -> None:
        store.log_vote(team="T1", channel="C1", message_ts="12.0", user=user, faq_id=faq_id,
                       vote=value)

    vote("U30", "replacement-card", "up")
    vote("U31", "replacement-card", "up")
    vote("U32", "replacement-card", "down")
    vote("U33", "replacement-card", "down")
    vote("U33", "replacement-card", "up")  # changed their mind: the last vote counts
    shown = ["premium-help", "part-b", "enroll"]
    store.log_choice(team="T1", channel="C1", message_ts="13.0", user="U40", chosen="part-b",
                     shown=shown)
    store.log_choice(team="T1", channel="C1", message_ts="13.1", user="U40",
                     chosen="premium-help", shown=shown)
    vote("U40", "part-b", "up")


def test_report_groups_unanswered_questions_and_counts_feedback(store, database_url, capsys,
                                                               monkeypatch):
    seed(store)
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["report", "--since", "1d", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["questions"] == 18
    assert report["decisions"] == {"answer": {"count": 4, "rate": 0.2222},
                                   "choices": {"count": 2, "rate": 0.1111},
                                   "none": {"count": 12, "rate": 0.6667}}
    unanswered = report["unanswered"]
    assert (unanswered["count"], unanswered["grouping"]) == (12, "similarity")
    summary = [{k: g[k] for k in ("question", "count", "people", "direct", "closest_faq")}
               for g in unanswered["groups"]]
    assert summary == [
        {"question": VPN[0], "count": 9, "people": 9, "direct": 2,
         "closest_faq": "replacement-card"},
        {"question": PARKING[0], "count": 3, "people": 2, "direct": 0, "closest_faq": "enroll"}]
    assert unanswered["groups"][0]["closest_score"] == 0.38
    assert unanswered["groups"][0]["examples"] == VPN[1:4]
    assert report["faqs"] == [
        {"id": "replacement-card", "answered": 4, "up": 3, "down": 1, "chosen": 0,
         "lost_to_choice": 0},
        {"id": "part-b", "answered": 0, "up": 1, "down": 0, "chosen": 1, "lost_to_choice": 0},
        {"id": "premium-help", "answered": 0, "up": 0, "down": 0, "chosen": 1,
         "lost_to_choice": 1}]

    assert main(["report", "--csv"]) == 0
    csv_lines = capsys.readouterr().out.splitlines()
    assert csv_lines[0].startswith("count,people,direct,question,examples,")
    assert csv_lines[1].startswith(f"9,9,2,{VPN[0]},")
    assert len(csv_lines) == 3

    assert main(["report"]) == 0
    text = capsys.readouterr().out
    assert "18 questions since" in text and "9× by 9 people (2 direct)" in text


def test_report_window_excludes_older_questions(store, database_url, capsys, monkeypatch):
    seed(store)
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["report", "--since", "2999-01-01", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["questions"], report["unanswered"]["groups"], report["faqs"]) == (0, [], [])


def test_report_errors_are_one_line_without_the_password(capsys, monkeypatch):
    sock = closed_port()
    monkeypatch.setenv("DATABASE_URL",
                       f"postgres://faqbot:{PASSWORD}@127.0.0.1:{sock.getsockname()[1]}/x")
    assert main(["report"]) == 2
    err = capsys.readouterr().err
    sock.close()
    assert err.startswith("error: cannot read the question log at postgresql+psycopg://faqbot:***@")
    assert PASSWORD not in err and len(err.strip().splitlines()) == 1
    monkeypatch.delenv("DATABASE_URL")
    assert main(["report", "--since", "a while"]) == 2
    assert "--since 'a while'" in capsys.readouterr().err


def test_a_password_in_the_query_string_is_masked_too(capsys, monkeypatch):
    sock = closed_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://faqbot@127.0.0.1:{sock.getsockname()[1]}"
                                       f"/x?password={PASSWORD}")
    assert main(["report"]) == 2
    sock.close()
    err = capsys.readouterr().err
    assert PASSWORD not in err and "password=%2A%2A%2A" in err


@pytest.mark.parametrize("since", ["99999999999d", "1000000d"])
def test_absurd_windows_are_user_errors(since, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--since", since]) == 2
    assert "--since" in capsys.readouterr().err


def test_report_refuses_a_missing_log_instead_of_creating_one(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'typo.sqlite3'}")
    assert main(["report"]) == 2
    assert "there is no question log" in capsys.readouterr().err
    assert not (tmp_path / "typo.sqlite3").exists()


def test_a_non_numeric_port_is_a_user_error():
    with pytest.raises(UserError, match="not a database URL"):
        Store.from_url(f"postgresql://u:{PASSWORD}@127.0.0.1:abc/db")


def test_expired_claims_are_pruned(store, database_url):
    from datetime import timedelta

    from sqlalchemy import create_engine, update

    from bot.storage import schema
    from bot.storage.url import parse_url

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
