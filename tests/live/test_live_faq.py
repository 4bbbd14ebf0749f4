"""LiveFaq on a real database: an edit saved by one process is answered by another after its
next poll, an unchanged counter costs no reload, and a database outage keeps the FAQ serving."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings
from bot.errors import UserError
from bot.faq.dataset import load_faq
from bot.faq.drafts import draft_row
from bot.faq.policy import Decision
from bot.live import LiveFaq, Watcher
from bot.live.codec import decode, encode
from bot.live.export import export
from bot.storage import Store
from tests.faq.test_edits import CountingEmbedder
from tests.live.conftest import fresh_answerer

DOG = draft_row(question="Can I bring my dog to the office?", answer="Yes, on Fridays.",
                alternates=["are pets allowed at work", "is the office dog friendly"])
ASKED = "may I bring my puppy to work"


def test_an_edit_on_one_process_is_answered_by_the_other_after_its_poll(two) -> None:
    a, b = two
    assert b.answerer.ask(ASKED).decision == Decision.NONE
    a.save(DOG, editor="U1")
    assert a.answerer.ask(ASKED).shown[0].id == DOG.id  # at once where it was made
    assert b.refresh()
    answer = b.answerer.ask(ASKED)
    assert answer.decision == Decision.ANSWER and answer.shown[0].answer == "Yes, on Fridays."
    a.retire(DOG.id, editor="U1")
    assert b.refresh()
    assert all(hit.id != DOG.id for hit in b.answerer.ask(ASKED).candidates)


def test_an_unchanged_counter_reloads_nothing(two) -> None:
    a, _ = two
    loaded = a.faq
    assert not a.refresh()
    assert a.faq is loaded


def test_edits_are_checked_against_the_merged_faq(two) -> None:
    a, b = two
    a.save(DOG, editor="U1")
    b.refresh()
    again = draft_row(question="Is the office dog friendly", answer="x")
    with pytest.raises(UserError, match="already a phrasing"):
        b.save(again, editor="U2")
    with pytest.raises(UserError, match="no FAQ with id"):
        b.save(draft_row(question="Something else?", answer="x", faq_id="nope"),
               editor="U2", replacing="nope")
    with pytest.raises(UserError, match="no FAQ with id"):
        b.retire("nope", editor="U2")


def test_a_database_outage_keeps_the_loaded_faq(answerer, embedder, closed_port) -> None:
    store = Store.from_url(f"postgresql://u:pw@127.0.0.1:{closed_port}/x", retry_interval=0)
    live = LiveFaq(fresh_answerer(answerer, embedder), store)
    try:
        assert not live.refresh()
        assert live.faq is answerer.faq
        with pytest.raises(UserError, match="was not saved"):
            live.save(DOG, editor="U1")
        assert live.faq.by_id(DOG.id) is None
    finally:
        store.close()


def test_the_watcher_picks_up_a_change_and_says_so(two, caplog) -> None:
    a, b = two
    watcher = Watcher(b, Settings.from_env({}))
    a.save(DOG, editor="U1")
    with caplog.at_level(logging.INFO, logger="bot.live"):
        watcher.tick()
    assert b.faq.by_id(DOG.id) is not None
    assert "FAQ reloaded" in caplog.text


def test_export_writes_the_merged_faq_and_loading_it_embeds_nothing(two, embedder,
                                                                    tmp_path: Path) -> None:
    a, _ = two
    a.save(DOG, editor="U1")
    retired = a.faq.rows[0].id
    a.retire(retired, editor="U1")
    done = export(a, tmp_path / "out")
    assert done.rows == len(a.faq) and done.edited == 1 and done.version == 2
    counting = CountingEmbedder(embedder)
    loaded = load_faq(str(tmp_path / "out"), counting)
    assert counting.texts == []
    assert [r.id for r in loaded.rows] == [r.id for r in a.faq.rows]
    assert loaded.by_id(retired) is None
    np.testing.assert_allclose(loaded.index.matrix, a.faq.index.matrix, atol=1e-6)
    assert loaded.calibration is not None


def test_stored_vectors_that_do_not_fit_are_dropped(embedder) -> None:
    stored = encode(DOG, np.ones((3, 384), np.float32) / 384 ** 0.5, model_id="m", editor="U1")
    assert decode(stored).vectors.shape == (3, 384)
    broken = encode(DOG, None, model_id="m", editor="U1")
    assert decode(broken).vectors is None
    for raw in (b"\x00" * 7, np.full((3, 4), np.nan, np.float32).tobytes(),
                np.ones((3, 4), np.float32).tobytes()):  # not unit vectors
        assert decode(type(stored)(**{**stored.__dict__, "vectors": raw})).vectors is None
    assert decode(encode(DOG, None, model_id="m", editor="U1", retired=True)).row is None


def test_a_hub_reload_while_the_database_is_down_keeps_the_edits(two, closed_port) -> None:
    a, _ = two
    a.save(DOG, editor="U1")
    base = a._base
    a.store = Store.from_url(f"postgresql://u:pw@127.0.0.1:{closed_port}/x", retry_interval=0)
    try:
        a.rebase(base, commit="f" * 40)  # the watcher found a new commit; the DB is down
        assert a.faq.by_id(DOG.id) is not None
        assert a.commit == "f" * 40
    finally:
        a.store.close()
