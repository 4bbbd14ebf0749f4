"""LOG_RETENTION_DAYS on real SQLite and real PostgreSQL: what the purge erases and keeps,
its boundary, its batches, several processes purging at once, and replies written while a
large purge runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, text, update

from bot.report.summary import summarise
from bot.storage import ACCEPTED, PENDING, REJECTED, RESOLVED, Store, schema
from bot.storage.privacy import phrasing_hash, user_hash
from bot.storage.queries import log_since
from bot.storage.url import parse_url
from tests.conftest import logged_answer as answer
from tests.conftest import table_rows as rows
from tests.conftest import wait_until

DAYS = timedelta(days=30)
MARGIN = timedelta(minutes=5)  # far more than a test takes, far less than a day


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    engine = create_engine(parse_url(database_url))
    yield engine
    engine.dispose()


def set_at(engine: Engine, table, at: datetime, *conditions, column: str = "at") -> None:
    """Move rows back in time, as if logged at ``at``."""
    with engine.begin() as connection:
        connection.execute(update(table).where(*conditions).values({column: at}))


def ask(store: Store, ts: str, *, user: str = "U1", text: str = "how do I renew?",
        decision: str = "answer", direct: bool = True) -> None:
    store.log_question(team="T1", channel="C1", ts=ts, user=user, text=text,
                       answer=answer(decision, ("renew", 0.8), ("cancel", 0.6)),
                       latency_ms=12.5, direct=direct, reply_ts=f"r{ts}")


def vote(store: Store, ts: str, value: str, *, user: str = "U1", faq: str = "renew") -> None:
    store.log_vote(team="T1", channel="C1", message_ts=ts, user=user, faq_id=faq, vote=value)


# --- the boundary, and what a purged row keeps ---------------------------------------------

def test_rows_just_older_than_the_retention_are_purged_and_just_newer_are_kept(
        store, database_url, engine):
    now = schema.utcnow()
    ask(store, "1.0", text="old question")
    ask(store, "2.0", text="new question")
    vote(store, "r1.0", "up")
    vote(store, "r2.0", "down")
    store.log_choice(team="T1", channel="C1", message_ts="r1.0", user="U1", chosen="renew",
                     shown=["renew", "cancel"])
    store.log_choice(team="T1", channel="C1", message_ts="r2.0", user="U1", chosen="cancel",
                     shown=["renew", "cancel"])
    for table, old in ((schema.questions, schema.questions.c.ts == "1.0"),
                       (schema.votes, schema.votes.c.message_ts == "r1.0"),
                       (schema.choices, schema.choices.c.message_ts == "r1.0")):
        set_at(engine, table, now - DAYS - MARGIN, old)
        set_at(engine, table, now - DAYS + MARGIN, ~old)

    purged = store.purge_log(DAYS)

    assert (purged.questions, purged.votes, purged.choices) == (1, 1, 1)
    old_q, new_q = sorted(rows(database_url, schema.questions), key=lambda r: r["id"])
    assert (old_q["text"], old_q["text_hash"], old_q["user_hash"], old_q["ts"],
            old_q["reply_ts"]) == (None, "", "", "", None)
    # What the report counts stays: when, where, what the bot decided, the FAQs and scores.
    assert (old_q["decision"], old_q["direct"], old_q["latency_ms"], old_q["channel"]) == \
        ("answer", True, 12.5, "C1")
    assert [c["id"] for c in old_q["candidates"]] == ["renew", "cancel"]
    assert new_q["text"] == "new question" and new_q["user_hash"] == user_hash("T1", "U1")
    old_v, new_v = sorted(rows(database_url, schema.votes), key=lambda r: r["id"])
    assert (old_v["user_hash"], old_v["message_ts"], old_v["faq_id"], old_v["vote"]) == \
        ("", "", "renew", "up")
    assert new_v["user_hash"] and new_v["message_ts"] == "r2.0"
    old_c, new_c = sorted(rows(database_url, schema.choices), key=lambda r: r["id"])
    assert (old_c["user_hash"], old_c["message_ts"], old_c["chosen"]) == ("", "", "renew")
    assert new_c["user_hash"] and new_c["message_ts"] == "r2.0"
    assert store.purge_log(DAYS).total == 0  # nothing left to do, nothing redone


def test_a_purged_question_no_longer_leads_back_to_its_asker(store, engine):
    ask(store, "1.0")
    set_at(engine, schema.questions, schema.utcnow() - DAYS - MARGIN)
    assert store.asked_question(team="T1", channel="C1", reply_ts="r1.0", user="U1")
    store.purge_log(DAYS)
    assert store.asked_question(team="T1", channel="C1", reply_ts="r1.0", user="U1") is None


def test_the_reports_counts_are_the_same_after_the_purge(store, database_url, engine):
    for n in range(6):
        ask(store, f"{n}.0", user=f"U{n}", decision=("answer", "choices", "none")[n % 3],
            direct=n % 2 == 0)
    vote(store, "r0.0", "up", user="U0")
    vote(store, "r0.0", "down", user="U0")  # changed their mind: only this one counts
    vote(store, "r0.0", "up", user="U9")
    vote(store, "r3.0", "down", user="U3", faq="cancel")
    store.log_choice(team="T1", channel="C1", message_ts="r1.0", user="U1", chosen="cancel",
                     shown=["renew", "cancel"])
    long_ago = schema.utcnow() - DAYS - MARGIN
    for table in (schema.questions, schema.votes, schema.choices):
        set_at(engine, table, long_ago)

    def report() -> dict:
        with engine.connect() as connection:
            log = log_since(connection, long_ago - timedelta(days=1))
        summary = summarise(log, [])
        return {key: summary[key] for key in ("questions", "decisions", "faqs")}

    before = report()
    store.purge_log(DAYS)
    assert report() == before
    assert before["faqs"][0] == {"id": "renew", "answered": 2, "up": 1, "down": 1,
                                 "chosen": 0, "lost_to_choice": 1}
    assert len(rows(database_url, schema.votes)) == 3  # the changed vote is gone


def test_a_vote_changed_after_an_older_batch_was_purged_is_compared_first(store, engine):
    """Superseded votes are found before their later vote loses its voter, batch by batch."""
    vote(store, "r1.0", "up")
    for n in range(5):
        vote(store, f"r{n + 2}.0", "up", user="U2")
    vote(store, "r1.0", "down")  # the newest: supersedes the first
    set_at(engine, schema.votes, schema.utcnow() - DAYS - MARGIN)
    store.purge_log(DAYS, batch=2)
    with engine.connect() as connection:
        log = log_since(connection, schema.utcnow() - DAYS * 2)
    assert summarise(log, [])["faqs"][0] | {"id": "renew"} == {
        "id": "renew", "answered": 0, "up": 5, "down": 1, "chosen": 0, "lost_to_choice": 0}


# --- batches --------------------------------------------------------------------------------

def test_the_purge_goes_in_batches_of_at_most_the_batch_size(store, database_url, engine):
    for n in range(23):
        ask(store, f"{n}.0")
    set_at(engine, schema.questions, schema.utcnow() - DAYS - MARGIN)
    purged_after: list[int] = []

    def between() -> bool:
        purged_after.append(sum(r["user_hash"] == "" for r in rows(database_url,
                                                                    schema.questions)))
        return True

    assert store.purge_log(DAYS, batch=5, between=between).questions == 23
    steps = [b - a for a, b in zip([0, *purged_after], purged_after, strict=False)]
    assert purged_after[4] == 23 and steps[:5] == [5, 5, 5, 5, 3]


def test_between_returning_false_stops_the_purge_after_that_batch(store, database_url, engine):
    for n in range(10):
        ask(store, f"{n}.0")
    set_at(engine, schema.questions, schema.utcnow() - DAYS - MARGIN)
    assert store.purge_log(DAYS, batch=4, between=lambda: False).questions == 4
    assert sum(r["user_hash"] == "" for r in rows(database_url, schema.questions)) == 4
    assert store.purge_log(DAYS, batch=4).questions == 6  # the next purge finishes it


def test_replies_are_written_while_a_large_purge_runs(store, database_url, engine):
    """Between two batches, a reply's claim and log row go in (no timing: each of the first
    batches waits until the reply thread wrote one more reply, which it could not do if the
    purge held the database)."""
    old = 3000
    with engine.begin() as connection:
        connection.execute(schema.questions.insert(), [
            {"at": schema.utcnow() - DAYS - MARGIN, "team": "T1", "channel": "C1",
             "ts": f"{n}.0", "user_hash": "u" * 64, "text": f"question {n}",
             "text_hash": "h" * 64, "decision": "none", "direct": False,
             "candidates": [], "latency_ms": 1.0} for n in range(old)])
    replies, stop = [0], threading.Event()

    def reply_loop() -> None:
        while not stop.is_set():
            ts = f"9{replies[0]}.5"
            assert store.claim("T1", "C2", ts)
            ask(store, ts, text="a new question")
            store.complete("T1", "C2", ts)
            replies[0] += 1

    batches = [0]

    def between() -> bool:
        batches[0] += 1
        if batches[0] <= 5:
            seen = replies[0]
            wait_until(lambda: replies[0] > seen, what="a reply written between batches")
        return True

    writer = threading.Thread(target=reply_loop)
    writer.start()
    try:
        purged = store.purge_log(DAYS, batch=100, between=between)
    finally:
        stop.set()
        writer.join()
    assert purged.questions == old and batches[0] >= old // 100
    claims = {r["ts"] for r in rows(database_url, schema.claims) if r["done"]}
    assert len(claims) == replies[0] >= 5  # every reply claimed in the database, not locally
    fresh = [r for r in rows(database_url, schema.questions) if r["channel"] == "C1"
             and r["text"] == "a new question"]
    assert len(fresh) == replies[0]


# --- several processes purging at once -----------------------------------------------------

def test_several_purges_at_once_purge_each_row_once(database_url, engine):
    """Each store has connections of its own, as each process has."""
    stores = [Store.from_url(database_url) for _ in range(3)]
    try:
        for n in range(60):
            ask(stores[0], f"{n}.0", user=f"U{n % 7}")
            vote(stores[0], f"r{n}.0", "up", user=f"U{n % 7}")
            vote(stores[0], f"r{n}.0", "down", user=f"U{n % 7}")  # supersedes the 👍
        long_ago = schema.utcnow() - DAYS - MARGIN
        for table in (schema.questions, schema.votes):
            set_at(engine, table, long_ago)
        barrier = threading.Barrier(len(stores))
        results = []

        def purge(store: Store) -> None:
            barrier.wait()
            results.append(store.purge_log(DAYS, batch=7))

        threads = [threading.Thread(target=purge, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for store in stores:
            store.close()
    assert all(result is not None for result in results)
    questions = rows(database_url, schema.questions)
    assert len(questions) == 60 and all(r["user_hash"] == "" for r in questions)
    votes = rows(database_url, schema.votes)
    assert sorted(v["vote"] for v in votes) == ["down"] * 60  # each 👍 deleted, no 👎 lost
    assert all(v["user_hash"] == "" for v in votes)


# --- learned phrasings ----------------------------------------------------------------------

def test_learned_phrasings_past_the_retention(store, database_url, engine):
    def suggest(text: str, *users: str):
        for user in users:
            found = store.confirm_suggestion(team="T1", faq_id="renew", text=text, user=user)
        return found

    accepted = suggest("renewing my card", "U1")
    stale = suggest("card renewal?", "U1", "U2")
    alive = suggest("renew card pls", "U1")
    rejected = suggest("Renew My CAT", "U1")
    assert store.decide_suggestion(accepted.id, ACCEPTED, by="U0")
    assert store.decide_suggestion(rejected.id, REJECTED, by="U0")
    set_at(engine, schema.suggestions, schema.utcnow() - DAYS - MARGIN)
    set_at(engine, schema.confirmations, schema.utcnow() - DAYS - MARGIN)
    suggest("renew card pls", "U3")  # confirmed again, within the retention

    store.purge_log(DAYS)

    by_id = {r["id"]: r for r in rows(database_url, schema.suggestions)}
    assert by_id[accepted.id]["text"] == "renewing my card"  # FAQ content: kept
    assert stale.id not in by_id  # pending, nobody confirmed it lately: gone
    assert by_id[alive.id]["text"] == "renew card pls"
    assert store.suggestion(alive.id).users == 1  # only the recent confirmation is left
    assert (by_id[rejected.id]["text"], by_id[rejected.id]["key"]) == \
        ("", phrasing_hash("renew my cat"))
    assert {r["user_hash"] for r in rows(database_url, schema.confirmations)} == \
        {user_hash("T1", "U3")}
    # Asked again, the rejected phrasing stays rejected: never suggested or accepted anew.
    again = suggest("renew my cat", "U4", "U5")
    assert (again.id, again.status) == (rejected.id, REJECTED)
    assert [s.text for s in store.suggestions(PENDING)] == ["renew card pls"]


# --- escalations ----------------------------------------------------------------------------

def escalate(store: Store, key: str):
    escalation, _ = store.escalate(team="T1", channel="C1", question_key=key, asker="U1",
                                   question="who approves leave?", private=False,
                                   experts="U7", thread_ts=key)
    return escalation


def test_escalations_are_purged_once_resolved_longer_ago_than_the_retention(
        store, database_url, engine):
    done_long_ago, done_lately, still_open = (escalate(store, f"{n}.0") for n in range(3))
    for escalation in (done_long_ago, done_lately, still_open):
        assert store.change_escalation(escalation.id, "answered", user="U7", text="HR does")
    for escalation in (done_long_ago, done_lately):
        assert store.change_escalation(escalation.id, "resolve", user="U7")
    table = schema.escalations
    set_at(engine, table, schema.utcnow() - DAYS * 3)  # all asked long ago
    set_at(engine, table, schema.utcnow() - DAYS - MARGIN, table.c.id == done_long_ago.id,
           column="resolved_at")

    assert store.purge_log(DAYS).escalations == 1

    purged = store.escalation(done_long_ago.id)
    assert (purged.question, purged.answer, purged.asker, purged.permalink) == \
        (None, None, "", None)
    assert (purged.question_key, purged.thread_channel, purged.thread_ts) == \
        (f"purged:{done_long_ago.id}", None, None)  # no way back to the asker's message
    assert (purged.status, purged.answered_by, purged.resolved_at is not None) == \
        (RESOLVED, "U7", True)  # the report's figures: counts and medians
    for kept in (done_lately, still_open):  # the expert still needs it all
        found = store.escalation(kept.id)
        assert (found.question, found.answer, found.asker) == \
            ("who approves leave?", "HR does", "U1")
    # Closed for good: its thread is nobody's any more, and it can't be reopened.
    assert store.escalation_in_thread("C1", "0.0") is None
    assert store.escalation_in_thread("C1", "2.0").id == still_open.id
    assert not store.change_escalation(done_long_ago.id, "reopen")
    assert store.change_escalation(done_lately.id, "reopen")


# --- the schema ------------------------------------------------------------------------------

def test_an_older_database_gets_the_purge_indexes(database_url, engine):
    Store.from_url(database_url).close()
    names = [index.name for index in schema.PURGE_INDEXES]
    with engine.begin() as connection:  # as a version-4 database was made
        for name in [*names, "faqbot_confirmations_at"]:
            connection.execute(text(f"DROP INDEX {name}"))
    store = Store.from_url(database_url)
    store.close()
    from sqlalchemy import inspect

    present = {index["name"] for table in ("faqbot_questions", "faqbot_votes",
                                           "faqbot_choices", "faqbot_confirmations")
               for index in inspect(engine).get_indexes(table)}
    assert {*names, "faqbot_confirmations_at"} <= present


def test_the_purge_reads_only_rows_not_purged_yet(tmp_path):
    """SQLite picks the partial index of unpurged rows: a batch costs the same however many
    purged rows lie behind it."""
    url = f"sqlite:///{tmp_path / 'plan.sqlite3'}"
    Store.from_url(url).close()
    from bot.storage.retention import _oldest

    engine = create_engine(parse_url(url))
    try:
        statement = _oldest(schema.questions, schema.utcnow(), 10).compile(
            engine, compile_kwargs={"literal_binds": True})
        with engine.connect() as connection:
            plan = " ".join(str(row) for row in
                            connection.execute(text(f"EXPLAIN QUERY PLAN {statement}")))
    finally:
        engine.dispose()
    assert "faqbot_questions_unpurged" in plan
