"""FAQ edits on real SQLite and PostgreSQL: the change counter moves once per change, edits
read back whole, and clearing removes only what a push carried."""

from __future__ import annotations

import threading

import pytest

from bot.errors import UserError
from bot.storage import Store, StoredEdit


def edit(faq_id: str, **fields) -> StoredEdit:
    return StoredEdit(**{"faq_id": faq_id, "question": f"{faq_id}?", "answer": "a",
                         "editor": "U1", **fields})


def test_a_fresh_database_is_at_change_zero(store) -> None:
    assert store.faq_version() == 0
    assert store.faq_edits() == []


def test_each_save_bumps_the_counter_and_the_latest_state_wins(store) -> None:
    assert store.save_faq_edit(edit("a", vectors=b"\x00\x00\x80\x3f", model_id="m")) == 1
    assert store.save_faq_edit(edit("b", alternates=("x", "y"))) == 2
    assert store.save_faq_edit(edit("a", answer="changed", retired=True)) == 3
    edits = store.faq_edits()
    assert [(e.faq_id, e.version) for e in edits] == [("b", 2), ("a", 3)]
    assert edits[0].alternates == ("x", "y")
    assert edits[1].answer == "changed" and edits[1].retired and edits[1].vectors is None
    assert edits[1].editor == "U1" and edits[1].at is not None
    assert store.faq_version() == 3


def test_concurrent_saves_each_get_their_own_version(store) -> None:
    barrier = threading.Barrier(6)
    versions: list[int] = []

    def save(n: int) -> None:
        barrier.wait()
        versions.append(store.save_faq_edit(edit(f"f{n}")))

    threads = [threading.Thread(target=save, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(versions) == [1, 2, 3, 4, 5, 6]
    assert store.faq_version() == 6


def test_hostile_text_is_stored(store) -> None:
    text = "<!channel> 🎉 nul\x00 " + "x" * 10_000
    store.save_faq_edit(edit("h", question=text, answer=text))
    (stored,) = store.faq_edits()
    assert stored.question == text.replace("\x00", "")


def test_clearing_removes_only_what_the_push_carried(store) -> None:
    assert store.clear_pushed_faq_edits() == 0  # nothing pushed yet
    store.save_faq_edit(edit("a"))
    store.save_faq_edit(edit("b"))
    store.record_faq_push(2)
    store.save_faq_edit(edit("c"))
    assert store.clear_pushed_faq_edits() == 2
    assert [e.faq_id for e in store.faq_edits()] == ["c"]
    assert store.faq_version() == 4  # clearing is a change every process must see


def test_a_database_that_is_down_reads_as_unknown_and_refuses_writes(closed_port) -> None:
    store = Store.from_url(f"postgresql://faqbot:pw@127.0.0.1:{closed_port}/faqbot",
                           retry_interval=0)
    try:
        assert store.faq_version() is None
        assert store.faq_edits() is None
        with pytest.raises(UserError, match="was not saved") as caught:
            store.save_faq_edit(edit("a"))
        assert "pw" not in caught.value.one_line()
    finally:
        store.close()


def test_a_new_id_stored_elsewhere_first_is_not_overwritten(store) -> None:
    assert store.save_faq_edit(edit("dup", answer="first"), new=True) == 1
    assert store.save_faq_edit(edit("dup", answer="second"), new=True) is None
    assert [e.answer for e in store.faq_edits()] == ["first"]
    assert store.faq_version() == 1  # the refused one left no trace
    assert store.save_faq_edit(edit("dup", answer="edited")) == 2  # an edit replaces
