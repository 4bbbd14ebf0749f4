"""``faqbot report`` on a real log (SQLite and PostgreSQL): unanswered questions grouped,
feedback counted, the window honoured, and errors in one line without the password."""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from bot.storage import Store
from tests.conftest import logged_answer as answer

PASSWORD = "s3cret-pw"

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


def test_report_errors_are_one_line_without_the_password(capsys, monkeypatch, closed_port):
    monkeypatch.setenv("DATABASE_URL", f"postgres://faqbot:{PASSWORD}@127.0.0.1:{closed_port}/x")
    assert main(["report"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read the question log at postgresql+psycopg://faqbot:***@")
    assert PASSWORD not in err and len(err.strip().splitlines()) == 1
    monkeypatch.delenv("DATABASE_URL")
    assert main(["report", "--since", "a while"]) == 2
    assert "--since 'a while'" in capsys.readouterr().err


def test_a_password_in_the_query_string_is_masked_too(capsys, monkeypatch, closed_port):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://faqbot@127.0.0.1:{closed_port}"
                                       f"/x?password={PASSWORD}")
    assert main(["report"]) == 2
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


def test_an_answer_counts_for_the_faq_answered_not_the_closest_by_cosine(
        store, database_url, capsys, monkeypatch):
    from dataclasses import replace

    # Ranked by FAQ score, "sign-up" was answered; by best phrasing, "part-b" came closer.
    closest_first = answer("answer", ("part-b", 0.71), ("sign-up", 0.70))
    answered = replace(closest_first, shown=closest_first.candidates[1:])
    store.log_question(team="T1", channel="C1", ts="1.000001", user="U1", text="join?",
                       answer=answered, latency_ms=3, reply_ts="2.000001")
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["report", "--since", "1d", "--json"]) == 0
    faqs = {f["id"]: f["answered"] for f in json.loads(capsys.readouterr().out)["faqs"]}
    assert faqs == {"sign-up": 1}


HOSTILE_QUESTION = "<!channel> <@U0BOSS> \x1b[2J\u202eevil " + "x" * 4000


def backdate(database_url: str, escalation_id: int, **minutes_after: float) -> None:
    """Set an escalation's timestamps to its ``at`` plus so many minutes: the test's
    clock, written straight to the database."""
    from datetime import timedelta

    from sqlalchemy import create_engine, select, update

    from bot.storage import schema

    table = schema.escalations
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        at = connection.scalar(select(table.c.at).where(table.c.id == escalation_id))
        connection.execute(update(table).where(table.c.id == escalation_id).values(
            **{name: at + timedelta(minutes=m) for name, m in minutes_after.items()}))
    engine.dispose()


def escalate(store, ts: str, question: str = "where is the form?"):
    escalation, made = store.escalate(team="T1", channel="C1", question_key=ts, asker="U1",
                                      question=question, private=False, experts="S0EXP")
    assert made
    return escalation.id


def test_report_counts_escalations_their_speed_and_the_self_service_rate(
        store, database_url, capsys, monkeypatch):
    seed(store)  # 2 of its questions were asked directly
    for n in range(8):
        store.log_question(team="T1", channel="C2", ts=f"20.{n}", user="U9", text="help me",
                           answer=answer("none"), latency_ms=5.0, direct=True)
    first = escalate(store, "10.0")  # one of VPN's direct questions
    second = escalate(store, "20.0", HOSTILE_QUESTION)
    third = escalate(store, "20.1")
    store.change_escalation(first, "answered", user="U7", text="use the portal")
    store.change_escalation(first, "resolve", user="U1")
    store.change_escalation(second, "claim", user="U7")
    store.change_escalation(third, "answered", user="U8", text="ask IT")
    backdate(database_url, first, answered_at=12, resolved_at=40)
    backdate(database_url, third, answered_at=30)
    monkeypatch.setenv("DATABASE_URL", database_url)

    assert main(["report", "--since", "1d", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    escalations = report["escalations"]
    assert {k: escalations[k] for k in ("count", "median_first_reply_minutes",
                                        "median_resolution_minutes", "self_service_rate",
                                        "direct_questions")} == {
        "count": 3, "median_first_reply_minutes": 21.0, "median_resolution_minutes": 40.0,
        "self_service_rate": 0.7, "direct_questions": 10}
    assert [(e["id"], e["status"], e["claimed_by"], e["answered_by"])
            for e in escalations["unresolved"]] == [(second, "claimed", "U7", None),
                                                    (third, "open", None, "U8")]
    assert escalations["unresolved"][0]["question"] == HOSTILE_QUESTION  # JSON keeps it all
    assert report["unanswered"]["groups"][0]["escalated"] == 1  # VPN's first question

    assert main(["report", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(",text_hash,escalated")

    assert main(["report"]) == 0
    text = capsys.readouterr().out
    assert "Asked a person: 3 (70% of 10 direct questions ended without one)" in text
    assert "median first human reply 21 min, median resolution 40 min" in text
    assert "9× by 9 people (2 direct), 1 asked a person" in text
    [hostile] = [line for line in text.splitlines() if "U0BOSS" in line]
    assert "claimed by U7" in hostile and "<!channel> <@U0BOSS> [2Jevil x" in hostile
    assert "\x1b" not in text and "\u202e" not in text


def test_no_escalations_and_no_direct_questions_are_nulls_not_errors(
        store, database_url, capsys, monkeypatch):
    store.log_question(team="T1", channel="C1", ts="1.1", user="U1", text="hi",
                       answer=answer("none"), latency_ms=5.0)
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["report", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["escalations"] == {
        "count": 0, "median_first_reply_minutes": None, "median_resolution_minutes": None,
        "self_service_rate": None, "direct_questions": 0, "unresolved": []}
    assert main(["report"]) == 0
    assert "Asked a person: 0 (— of 0 direct questions" in capsys.readouterr().out


def test_a_log_from_before_escalations_reports_none(tmp_path, capsys, monkeypatch):
    """An older faqbot's database has no escalations table; the report reads it as is."""
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    old = Store.from_url(url)
    old.log_question(team="T1", channel="C1", ts="1.1", user="U1", text="hi",
                     answer=answer("none"), latency_ms=5.0, direct=True)
    old.close()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE faqbot_escalations"))
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["report", "--json"]) == 0
    escalations = json.loads(capsys.readouterr().out)["escalations"]
    assert (escalations["count"], escalations["self_service_rate"]) == (0, 1.0)


def test_a_purged_period_reports_the_same_counts_without_texts(store, database_url, capsys,
                                                                monkeypatch):
    """Past LOG_RETENTION_DAYS the counts stay; the unanswered texts (and so their groups)
    are gone, and the report says how many questions that leaves ungrouped."""
    from datetime import timedelta

    from sqlalchemy import create_engine, update

    from bot.storage import schema
    from bot.storage.url import parse_url

    seed(store)
    engine = create_engine(parse_url(database_url))
    with engine.begin() as connection:
        for table in (schema.questions, schema.votes, schema.choices):
            connection.execute(update(table).values(at=schema.utcnow() - timedelta(days=40)))
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", database_url)

    def report() -> dict:
        assert main(["report", "--since", "60d", "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    before = report()
    assert store.purge_log(timedelta(days=30)).questions == 18
    after = report()
    for key in ("questions", "decisions", "faqs", "escalations"):
        assert after[key] == before[key], key
    assert (before["unanswered"]["purged"], len(before["unanswered"]["groups"])) == (0, 2)
    assert after["unanswered"] | {"groups": None} == {
        **before["unanswered"], "purged": 12, "groups": None}
    assert after["unanswered"]["groups"] == []  # nothing left to group by, not one "" group
    assert main(["report", "--since", "60d"]) == 0
    text = capsys.readouterr().out
    assert "12 of them older than LOG_RETENTION_DAYS: counted, their text purged" in text
