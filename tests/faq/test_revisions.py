"""Three-way merges of an editor's change with the changes made since their read."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.faq.drafts import draft_row
from bot.faq.revisions import Conflict, Seen, merge, seen, unchanged

BASE = draft_row(question="Can I park at the office?", answer="Yes, level 2.",
                 url="https://example.com/parking", alternates=["where do I park", "parking"])


def test_changes_to_different_fields_are_both_kept() -> None:
    theirs = replace(BASE, answer="Yes, level 3 since May.")
    mine = replace(BASE, alternates=(*BASE.alternates, "is there a car park"))
    merged = merge(seen(BASE), mine, theirs)
    assert merged.answer == "Yes, level 3 since May."
    assert merged.alternates == ("where do I park", "parking", "is there a car park")


def test_the_same_field_changed_differently_is_a_conflict() -> None:
    theirs = replace(BASE, answer="No.", question="Is there parking?")
    mine = replace(BASE, answer="Only on Fridays.", question="Is there parking?")
    with pytest.raises(Conflict) as raised:
        merge(seen(BASE), mine, theirs)
    assert raised.value.fields == ("answer",)


def test_alternates_merge_as_sets_added_stay_removed_go() -> None:
    theirs = replace(BASE, alternates=("where do I park", "parking", "learned phrasing"))
    mine = replace(BASE, alternates=("parking", "my new one"))  # removed "where do I park"
    merged = merge(seen(BASE), mine, theirs)
    assert merged.alternates == ("parking", "my new one", "learned phrasing")
    theirs_removed = replace(BASE, alternates=("where do I park",))
    assert merge(seen(BASE), BASE, theirs_removed).alternates == ("where do I park",)


def test_without_phrasing_hashes_only_one_side_may_change_the_list() -> None:
    since = Seen.decode(seen(BASE).encode(with_phrasings=False))
    assert since is not None and since.phrasings is None
    theirs = replace(BASE, alternates=(*BASE.alternates, "learned"))
    assert merge(since, BASE, theirs).alternates == theirs.alternates
    mine = replace(BASE, alternates=("mine",))
    with pytest.raises(Conflict) as raised:
        merge(since, mine, theirs)
    assert raised.value.fields == ("alternates",)


def test_seen_round_trips_and_refuses_what_it_did_not_write() -> None:
    encoded = seen(BASE).encode()
    assert Seen.decode(encoded) == seen(BASE)
    assert unchanged(Seen.decode(encoded), BASE)
    assert not unchanged(seen(BASE), replace(BASE, url=""))
    for forged in (None, 3, "", "a.b.c.d", encoded + "x", encoded.replace(".", ":"),
                   ".".join(["g" * 10] * 4)):
        assert Seen.decode(forged) is None
