"""The FAQ modal's builders keep to Block Kit's limits, and what they write reads back."""

from __future__ import annotations

import pytest

from bot.faq.drafts import draft_row, split_lines
from bot.faq.sources import FaqRow
from bot.slack import modals

TITLE_LIMIT = 24  # Block Kit's cap on a modal's title, submit and close texts
LABEL_LIMIT = 2000


@pytest.mark.parametrize("where", [modals.Where(), modals.Where(faq_id="replacement-card"),
                                   modals.Where(channel="C0HELP", thread_ts="1.000100"),
                                   modals.Where(channel="C1", thread_ts="2.5", faq_id="x-1")])
def test_where_reads_back_what_it_wrote(where: modals.Where) -> None:
    assert modals.read_where(where.encode()) == where
    assert len(where.encode()) <= modals.METADATA_LIMIT


def test_an_empty_where_is_the_empty_string_slack_allows() -> None:
    assert modals.Where().encode() == ""
    assert modals.read_where("") == modals.read_where(None) == modals.Where()


@pytest.mark.parametrize("view", [
    modals.edit_modal(modals.Draft(question="q" * 9000, answer="a" * 9000, url="u" * 9000,
                                   alternates="x\n" * 9000), modals.Where(faq_id="f")),
    modals.edit_modal(modals.Draft(), modals.Where()),
    modals.refusal_modal(editing_on=True),
    modals.refusal_modal(editing_on=False),
])
def test_views_keep_to_block_kits_limits(view: dict) -> None:
    for key in ("title", "submit", "close"):
        if key in view:
            assert len(view[key]["text"]) <= TITLE_LIMIT
    for block in view["blocks"]:
        if block["type"] == "input":
            element = block["element"]
            assert len(block["label"]["text"]) <= LABEL_LIMIT
            assert len(element.get("initial_value", "")) <= element["max_length"] <= 3000


def test_read_draft_takes_text_only() -> None:
    view = {"state": {"values": {"question": {"value": {"value": "Q?"}},
                                 "answer": {"value": {"value": ["not", "text"]}},
                                 "url": None, "alternates": {"other": {"value": "x"}}}}}
    assert modals.read_draft(view) == modals.Draft(question="Q?")
    assert modals.read_draft({"state": "garbage"}) == modals.Draft()


@pytest.mark.parametrize("alternates", [("pay by card | cash?",), ("a|b", "c"), ("x",)])
def test_alternates_shown_in_the_form_are_saved_back_the_same(alternates) -> None:
    shown = modals.draft_of(FaqRow(id="f", question="q", answer="a", url="",
                                   alternates=alternates, category="")).alternates
    assert draft_row(question="q", answer="a", alternates=split_lines(shown)).alternates == (
        alternates)


def test_a_form_on_an_faq_with_many_alternates_fits_slacks_metadata_cap() -> None:
    from bot.faq.drafts import draft_row
    from bot.faq.revisions import Seen

    row = draft_row(question="Q?", answer="A.", faq_id="f",
                    alternates=[f"way number {n}" for n in range(600)])
    where = modals.editing(row, channel="C0FAQ", thread_ts="1700000000.000100")
    encoded = where.encode()
    assert len(encoded) <= modals.METADATA_LIMIT
    back = modals.read_where(encoded)
    assert back is not None and Seen.decode(back.seen).phrasings is None
    few = modals.editing(draft_row(question="Q?", answer="A.", faq_id="f", alternates=["x"]))
    assert Seen.decode(modals.read_where(few.encode()).seen).phrasings is not None
