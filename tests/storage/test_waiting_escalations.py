"""``Store.waiting_escalations`` on SQLite and PostgreSQL: what an editor still has to act
on, however many escalations the table holds, read in bounded lists with full counts."""

from __future__ import annotations

from bot.storage import Store


def test_open_ones_oldest_first_and_unsaved_answers_latest_first(store: Store) -> None:
    ids = []
    for n in range(7):
        escalation, _ = store.escalate(team="T1", channel="C1", question_key=f"1.{n}",
                                       asker="U1", question=f"question {n}", private=False,
                                       experts="S0EXP")
        ids.append(escalation.id)
    for eid in ids[1:6]:
        store.change_escalation(eid, "answered", user="U2", text=f"answer {eid}")
    for eid in ids[:3]:
        store.change_escalation(eid, "resolve", user="U1")
    store.change_escalation(ids[5], "saved_as", faq_id="faq-5")

    waiting = store.waiting_escalations(2)
    assert waiting is not None
    assert [e.id for e in waiting.open] == ids[3:5] and waiting.open_count == 4
    assert [e.id for e in waiting.unsaved] == [ids[4], ids[3]] and waiting.unsaved_count == 4
    assert waiting.unsaved[0].answer == f"answer {ids[4]}"


def test_nothing_escalated_is_empty_not_missing(store: Store) -> None:
    waiting = store.waiting_escalations(5)
    assert waiting is not None and (waiting.open, waiting.open_count) == ([], 0)
    assert (waiting.unsaved, waiting.unsaved_count) == ([], 0)


def test_a_reply_without_text_has_nothing_to_save(store: Store) -> None:
    escalation, _ = store.escalate(team="T1", channel="C1", question_key="2.1", asker="U1",
                                   question="q", private=False, experts="S0EXP")
    store.change_escalation(escalation.id, "answered", user="U2", text="")  # a file only
    waiting = store.waiting_escalations(5)
    assert waiting is not None and waiting.unsaved_count == 0 and waiting.open_count == 1
