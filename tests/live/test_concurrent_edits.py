"""No edit lost: saves of one FAQ that overlap (two editors, an editor and learning, two
accepts) all land, or the later one is told who changed what; and a save embeds only the
phrasings it doesn't have vectors for."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from bot.faq.revisions import EditChanged, seen
from bot.live import Learner
from bot.storage import ACCEPTED
from tests.faq.test_edits import CountingEmbedder
from tests.live.test_learning import asked


class MeetingEmbedder(CountingEmbedder):
    """The real embedder, whose first ``parties`` calls wait for each other: every save has
    read the FAQ before any of them writes, the widest window two saves can have."""

    def __init__(self, inner, parties: int = 2) -> None:
        super().__init__(inner)
        self._meeting = threading.Barrier(parties)
        self._calls = 0
        self._lock = threading.Lock()

    def embed(self, texts):
        with self._lock:
            self._calls += 1
            meets = self._calls <= self._meeting.parties
        if meets:
            self._meeting.wait(timeout=30)
        return super().embed(texts)


def run_together(*jobs) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(job) -> None:
        try:
            job()
        except BaseException as error:  # reported to the test, which fails on it
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_a_save_from_an_older_read_keeps_the_newer_change(two) -> None:
    a, b = two
    opened = a.faq.rows[0]  # editor A opens the form on it
    b.refresh()
    fixed = b.save(replace(b.faq.rows[0], answer="B's fix."), editor="U0B",
                   replacing=opened.id, since=seen(b.faq.rows[0]))
    mine = replace(opened, alternates=(*opened.alternates, "A's new phrasing"))
    with pytest.raises(EditChanged) as changed:
        a.save(mine, editor="U0A", replacing=opened.id, since=seen(opened), merge=False)
    assert changed.value.by.editor == "U0B" and changed.value.by.at is not None
    assert changed.value.current.answer == "B's fix." and changed.value.fields == ()
    assert changed.value.merged is not None
    assert changed.value.merged.answer == "B's fix."
    assert "A's new phrasing" in changed.value.merged.alternates
    assert a.faq.by_id(opened.id).answer == fixed.answer  # nothing was overwritten
    saved = a.save(mine, editor="U0A", replacing=opened.id, since=seen(opened))
    assert saved.answer == "B's fix." and "A's new phrasing" in saved.alternates
    assert b.refresh() and b.faq.by_id(opened.id) == saved


def test_the_same_field_changed_on_both_sides_is_refused_naming_who(two) -> None:
    a, b = two
    opened = a.faq.rows[1]
    b.save(replace(opened, answer="B's answer."), editor="U0B", replacing=opened.id,
           since=seen(opened))
    with pytest.raises(EditChanged, match=r"changed by U0B at .*\(both changed: answer\)"):
        a.save(replace(opened, answer="A's answer."), editor="U0A", replacing=opened.id,
               since=seen(opened))
    assert a.faq.by_id(opened.id).answer == "B's answer."


def test_two_saves_of_one_faq_at_once_both_land(two, embedder) -> None:
    a, b = two
    meeting = MeetingEmbedder(embedder)
    a.answerer.embedder = b.answerer.embedder = meeting
    row = a.faq.rows[2]
    first = replace(row, alternates=(*row.alternates, "first editor's phrasing"))
    second = replace(row, alternates=(*row.alternates, "second editor's phrasing"))
    errors = run_together(
        lambda: a.save(first, editor="U0A", replacing=row.id, since=seen(row)),
        lambda: b.save(second, editor="U0B", replacing=row.id, since=seen(row)))
    assert errors == []
    a.refresh()
    final = a.faq.by_id(row.id).alternates
    assert "first editor's phrasing" in final and "second editor's phrasing" in final


def test_two_accepts_at_once_add_both_phrasings(two, embedder) -> None:
    a, b = two
    row = a.faq.rows[3]
    suggestions = []
    for n, live in enumerate((a, b)):
        text = f"{row.question} (asked another way, number {n})"
        reply = asked(live, user=f"U{n}", text=text, reply_ts=f"2.00000{n}")
        suggestion = Learner(live).confirmed(team="T1", channel="C1", reply_ts=reply,
                                             user=f"U{n}", faq_id=row.id)
        assert suggestion is not None
        suggestions.append(suggestion)
    meeting = MeetingEmbedder(embedder)
    a.answerer.embedder = b.answerer.embedder = meeting
    errors = run_together(lambda: Learner(a).accept(suggestions[0].id, by="U0A"),
                          lambda: Learner(b).accept(suggestions[1].id, by="U0B"))
    assert errors == []
    a.refresh()
    for suggestion in suggestions:
        assert suggestion.text in a.faq.by_id(suggestion.faq_id).alternates
        assert a.store.suggestion(suggestion.id).status == ACCEPTED


def test_a_save_embeds_only_the_phrasings_it_has_no_vectors_for(two, embedder) -> None:
    a, _ = two
    counting = CountingEmbedder(embedder)
    a.answerer.embedder = counting
    row = a.faq.rows[4]
    a.save(replace(row, answer="Only the answer changed."), editor="U0A", replacing=row.id,
           since=seen(row))
    assert counting.texts == []
    row = a.faq.by_id(row.id)
    a.save(replace(row, alternates=(*row.alternates, "one more way to ask")), editor="U0A",
           replacing=row.id, since=seen(row))
    assert counting.texts == ["one more way to ask"]
