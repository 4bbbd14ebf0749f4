"""Escalations on a real database: made once per question, and every change happens once,
whichever process asks first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import UserError
from bot.storage import CLAIMED, OPEN, RESOLVED, Store, utcnow


def escalate(store: Store, key: str = "1700000000.000100", **extra):
    fields = {"team": "T1", "channel": "C1", "question_key": key, "asker": "U0ASKER",
              "question": "how do I expense a train ticket?", "private": False,
              "experts": "S0EXPERTS", **extra}
    return store.escalate(**fields)


def test_a_question_is_escalated_once_however_often_it_is_asked_for(store: Store) -> None:
    first, made = escalate(store)
    again, made_again = escalate(store)
    assert made and not made_again and again.id == first.id and first.status == OPEN
    assert escalate(store, key="command:123.456.abc")[1]  # another question: its own


def test_placement_claim_answer_resolve_reopen_each_apply_once(store: Store) -> None:
    escalation, _ = escalate(store)
    n = escalation.id
    assert store.change_escalation(n, "placed", thread_channel="C1",
                                   thread_ts="1700000000.000100", post_ts="1700000001.000100")
    assert not store.change_escalation(n, "placed", thread_channel="C9", thread_ts="1.2",
                                       post_ts="3.4")
    assert store.escalation_in_thread("C1", "1700000000.000100").id == n
    assert store.change_escalation(n, "claim", user="U0EXPERT")
    assert not store.change_escalation(n, "claim", user="U0OTHER")
    assert not store.change_escalation(n, "answered", user="U0ASKER", text="me again")
    assert store.change_escalation(n, "answered", user="U0EXPERT", text="Use the portal.")
    assert not store.change_escalation(n, "answered", user="U0OTHER", text="late")
    assert store.change_escalation(n, "resolve", user="U0ASKER")
    assert not store.change_escalation(n, "resolve", user="U0ASKER")
    done = store.escalation(n)
    assert (done.status, done.claimed_by, done.answered_by, done.answer, done.resolved_by) == (
        RESOLVED, "U0EXPERT", "U0EXPERT", "Use the portal.", "U0ASKER")
    assert store.change_escalation(n, "reopen")
    assert store.escalation(n).status == OPEN
    assert store.change_escalation(n, "claim", user="U0OTHER")
    assert store.escalation(n).status == CLAIMED
    with pytest.raises(ValueError):
        store.change_escalation(n, "drop table")


def test_one_reminder_for_an_unanswered_escalation(store: Store) -> None:
    escalation, _ = escalate(store)
    assert store.escalations_due(utcnow() + timedelta(minutes=1)) == []  # not placed yet
    store.change_escalation(escalation.id, "placed", thread_channel="C1", thread_ts="1.2",
                            post_ts="1.3")
    assert store.escalations_due(utcnow() - timedelta(minutes=1)) == []  # too young
    [due] = store.escalations_due(utcnow() + timedelta(minutes=1))
    assert store.change_escalation(due.id, "reminded")
    assert not store.change_escalation(due.id, "reminded")  # another process: no second one
    assert store.escalations_due(utcnow() + timedelta(minutes=1)) == []


def test_hostile_text_is_stored_as_text(store: Store) -> None:
    escalation, _ = escalate(store, question="<!channel> \x00 " + "x" * 4000)
    assert store.escalation(escalation.id).question.startswith("<!channel>")


def test_a_database_that_is_down_says_the_hand_off_failed(tmp_path) -> None:
    down = Store.from_url(f"sqlite:///{tmp_path / 'missing' / 'nope.sqlite3'}")
    with pytest.raises(UserError, match="not handed to a person"):
        escalate(down)
