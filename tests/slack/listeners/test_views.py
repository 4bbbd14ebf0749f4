"""``handle_edit_submission`` (the ``faq_edit`` modal) and the Edit button called directly:
only FAQ editors save, every refusal is shown in the modal by block id, a damaged form is
refused, hostile text is stored as text and posted escaped."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.faq.answerer import Answerer
from bot.faq.revisions import EditChanged, Revision, seen
from bot.slack import blocks, modals
from bot.slack.listeners import views
from bot.slack.listeners.actions import handle_edit
from bot.slack.listeners.views import handle_edit_submission
from bot.slack.services import RECEIVED_KEY
from tests.slack.listeners.click_fakes import THREAD as CLICK_THREAD
from tests.slack.listeners.click_fakes import payload
from tests.slack.listeners.edit_fakes import (
    CHANNEL,
    EDITOR,
    STRANGER,
    THREAD,
    FakeClient,
    FakeEditing,
    editing_context,
    initial,
)
from tests.standins.slack_standin import TEAM_ID

LOGGER = logging.getLogger("tests.views")
IN_THREAD = json.dumps({"channel": CHANNEL, "thread_ts": THREAD})
NEW = {"question": "How do I order a new card?", "answer": "Use your Medicare account.",
       "url": "https://www.medicare.gov/account", "alternates": "new card?\n lost my card \n\n"}


def submission(values: dict[str, Any] | None = None, *, user: Any = EDITOR,
               metadata: Any = IN_THREAD) -> dict[str, Any]:
    """A view_submission body for the faq_edit modal, as Slack sends it."""
    state = {name: {"value": {"type": "plain_text_input", "value": text}}
             for name, text in (NEW if values is None else values).items()}
    view = {"id": "V0001", "type": "modal", "callback_id": modals.EDIT_CALLBACK,
            "private_metadata": metadata, "state": {"values": state}, "hash": "1.abc"}
    return {"type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": user},
            "view": view}


def submit(answerer: Answerer, body: dict[str, Any], *, editing: FakeEditing | None = None,
           editors: frozenset[str] = frozenset({EDITOR})) -> tuple[FakeClient, FakeEditing]:
    editing = editing or FakeEditing(answerer)
    client = FakeClient()
    handle_edit_submission(ack=client.ack, body=body, view=body["view"], client=client,
                           context=editing_context(answerer, editing, editors), logger=LOGGER)
    assert client.names.count("ack") == 1 and client.names[0] == "ack"  # answered, once
    return client, editing


def refusal(client: FakeClient) -> dict[str, str]:
    [ack] = client.sent("ack")
    assert ack["response_action"] == "errors"
    assert client.sent("chat.postMessage") == []
    return ack["errors"]


# -- saving -------------------------------------------------------------------------------------

def test_an_editor_saves_and_the_thread_is_told_with_an_edit_button(answerer: Answerer) -> None:
    client, editing = submit(answerer, submission())
    assert client.sent("ack") == [{"args": ()}]  # a plain ack: the modal closes
    [saved] = editing.saved
    row = saved["row"]
    assert (saved["editor"], saved["replacing"]) == (EDITOR, None)
    assert (row.question, row.answer, row.url) == (NEW["question"], NEW["answer"], NEW["url"])
    assert row.alternates == ("new card?", "lost my card")
    [post] = client.sent("chat.postMessage")
    assert (post["channel"], post["thread_ts"]) == (CHANNEL, THREAD)
    assert post["text"] == f"Saved as an FAQ: {NEW['question']}"
    [edit] = [e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (edit["action_id"], edit["value"], edit["text"]["text"]) == (blocks.EDIT, row.id,
                                                                        "Edit")
    assert client.names == ["ack", "chat.postMessage"]  # closed before posting


def test_from_the_app_home_nothing_is_posted_and_the_home_is_published_again(
        answerer: Answerer) -> None:
    client, editing = submit(answerer, submission(metadata=""))
    assert len(editing.saved) == 1
    assert client.names == ["ack", "views.publish"]
    [published] = client.sent("views.publish")
    assert published["user_id"] == EDITOR and published["view"]["type"] == "home"
    assert "Saved the FAQ: How do I order a new card?" in json.dumps(published["view"])


def test_an_edit_replaces_its_faq_and_keeps_its_id_and_category(answerer: Answerer) -> None:
    current = answerer.faq.by_id("replacement-card")
    assert current is not None
    metadata = json.dumps({"channel": CHANNEL, "thread_ts": THREAD, "faq_id": current.id})
    values = {"question": current.question, "answer": "Log in to your Medicare account.",
              "url": current.url, "alternates": ""}
    _, editing = submit(answerer, submission(values, metadata=metadata))
    [saved] = editing.saved
    assert saved["replacing"] == current.id
    assert (saved["row"].id, saved["row"].category) == (current.id, current.category)


def test_hostile_text_is_stored_as_text_and_posted_escaped(answerer: Answerer) -> None:
    question = "<!channel> 🎉 is <@U0BOT> & <https://evil.example|the FAQ> *free*?"
    answer = "🎉 <!here> " + "y" * 10_000
    client, editing = submit(answerer, submission({"question": question, "answer": answer}))
    [saved] = editing.saved
    assert (saved["row"].question, saved["row"].answer) == (question, answer)
    [post] = client.sent("chat.postMessage")
    rendered = json.dumps(post)
    assert "<!channel>" not in rendered and "<@U0BOT>" not in rendered
    assert "<https://evil.example" not in rendered
    assert "&lt;!channel&gt; 🎉 is &lt;@U0BOT&gt; &amp;" in post["text"]
    assert all(len(b["text"]["text"]) <= blocks.SECTION_LIMIT
               for b in post["blocks"] if b["type"] == "section")


# -- who may save -------------------------------------------------------------------------------

@pytest.mark.parametrize("user", [STRANGER, "", None, {"id": EDITOR}, 5])
def test_anyone_but_an_editor_is_refused_and_nothing_is_saved(answerer: Answerer,
                                                             user: Any) -> None:
    client, editing = submit(answerer, submission(user=user))
    assert refusal(client) == {"question": modals.NOT_AN_EDITOR}
    assert editing.checked == [] and editing.saved == []


def test_with_no_editors_everyone_is_refused(answerer: Answerer) -> None:
    client, editing = submit(answerer, submission(), editors=frozenset())
    assert refusal(client) == {"question": modals.NOT_AN_EDITOR}
    assert editing.saved == []


def test_where_edits_cant_be_saved_even_an_editor_is_refused(answerer: Answerer) -> None:
    client = FakeClient()
    body = submission()
    handle_edit_submission(ack=client.ack, body=body, view=body["view"], client=client,
                           context=editing_context(answerer, None), logger=LOGGER)
    assert refusal(client) == {"question": modals.NOT_AN_EDITOR}


# -- what the FAQ won't take --------------------------------------------------------------------

def test_validation_errors_are_shown_by_block_id_and_nothing_is_saved(
        answerer: Answerer) -> None:
    taken = answerer.faq.by_id("replacement-card")
    assert taken is not None
    values = {"question": "Brand new question?", "answer": "   ", "url": "javascript:alert(1)",
              "alternates": taken.question}
    client, editing = submit(answerer, submission(values))
    errors = refusal(client)
    assert set(errors) == {"answer", "url", "alternates"}
    assert "empty" in errors["answer"] and "http" in errors["url"]
    assert "replacement-card" in errors["alternates"]
    assert editing.saved == []


def test_an_empty_or_missing_form_is_refused_on_its_required_fields(answerer: Answerer) -> None:
    body = submission({})
    body["view"]["state"] = {"values": {"question": "garbage", "answer": {"value": 5}}}
    client, editing = submit(answerer, body)
    assert set(refusal(client)) == {"question", "answer"}
    assert editing.saved == []


def test_a_question_another_faq_has_is_refused_on_the_question(answerer: Answerer) -> None:
    taken = answerer.faq.by_id("replacement-card")
    assert taken is not None
    client, _ = submit(answerer, submission({**NEW, "question": taken.question.upper()}))
    assert "replacement-card" in refusal(client)["question"]


def test_a_save_that_fails_is_shown_in_the_modal(answerer: Answerer) -> None:
    down = FakeEditing(answerer, failure=UserError("the embedding service is unavailable",
                                                   "try again in a minute"))
    client, editing = submit(answerer, submission(), editing=down)
    [(_, message)] = refusal(client).items()
    assert "embedding service is unavailable" in message and "try again" in message
    assert editing.saved == []


@pytest.fixture
def slow_saves(monkeypatch: pytest.MonkeyPatch) -> float:
    """A save that outlasts the time a submission may take to be answered."""
    monkeypatch.setattr(views, "ANSWER_WITHIN_SECONDS", 0.05)
    monkeypatch.setattr(views, "UPDATE_AFTER_ANSWER_SECONDS", 0.2)
    return 0.1


def test_the_update_waits_until_saving_has_surely_been_shown(answerer: Answerer,
                                                             slow_saves: float) -> None:
    client = FakeClient()
    when: dict[str, float] = {}

    def ack(**response: Any) -> None:
        when["ack"] = time.monotonic()
        client.ack(**response)

    def views_update(**kwargs: Any) -> dict[str, Any]:
        when["update"] = time.monotonic()
        return FakeClient.views_update(client, **kwargs)

    client.views_update = views_update  # type: ignore[method-assign]
    handle_edit_submission(ack=ack, body=submission(), view=submission()["view"],
                           client=client, context=editing_context(
                               answerer, FakeEditing(answerer, delay=slow_saves)),
                           logger=LOGGER)
    assert client.sent("ack")[0]["response_action"] == "update"
    assert when["update"] - when["ack"] >= 0.2  # the save itself was done after ~0.05 s


def test_the_deadline_counts_from_when_the_request_arrived(answerer: Answerer) -> None:
    context = editing_context(answerer, FakeEditing(answerer, delay=0.3))
    context[RECEIVED_KEY] = time.monotonic() - views.ANSWER_WITHIN_SECONDS  # queued that long
    client = FakeClient()
    started = time.monotonic()
    handle_edit_submission(ack=client.ack, body=submission(), view=submission()["view"],
                           client=client, context=context, logger=LOGGER)
    assert client.sent("ack")[0]["response_action"] == "update"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("delay", [0.0, 0.3])
def test_a_save_that_breaks_unexpectedly_says_so_in_the_form(answerer: Answerer,
                                                             slow_saves: float,
                                                             delay: float) -> None:
    broken = FakeEditing(answerer, delay=delay, failure=RuntimeError("bug"))
    client, _ = submit(answerer, submission(), editing=broken)
    shown = json.dumps(client.calls, ensure_ascii=False)
    assert "Not saved: something went wrong inside faqbot" in shown
    assert "bug" not in shown


def test_a_slow_save_is_answered_saving_then_shown_saved(answerer: Answerer,
                                                         slow_saves: float) -> None:
    client, editing = submit(answerer, submission(),
                             editing=FakeEditing(answerer, delay=slow_saves))
    [ack] = client.sent("ack")
    assert ack["response_action"] == "update" and ack["view"]["title"]["text"] == "Saving…"
    assert len(editing.saved) == 1
    assert client.names[1:] == ["views.update", "chat.postMessage"]
    [update] = client.sent("views.update")
    assert update["view_id"] == "V0001" and update["view"]["title"]["text"] == "Saved"
    assert NEW["question"] in json.dumps(update["view"], ensure_ascii=False)


def test_a_slow_save_that_fails_shows_the_form_again_as_typed(answerer: Answerer,
                                                              slow_saves: float) -> None:
    down = FakeEditing(answerer, delay=slow_saves,
                       failure=UserError("the embedding service timed out", "try again"))
    client, _ = submit(answerer, submission(), editing=down)
    assert client.sent("ack")[0]["response_action"] == "update"
    [update] = client.sent("views.update")
    form = update["view"]
    assert form["callback_id"] == modals.EDIT_CALLBACK
    assert initial(form) == NEW  # nothing typed is lost
    assert "Not saved: the embedding service timed out; try again." in form["blocks"][0][
        "text"]["text"]
    assert json.loads(form["private_metadata"]) == json.loads(IN_THREAD)
    assert client.sent("chat.postMessage") == []


def test_a_slow_failure_after_the_form_was_closed_reaches_the_editor_directly(
        answerer: Answerer, slow_saves: float) -> None:
    down = FakeEditing(answerer, delay=slow_saves,
                       failure=UserError("the database is unavailable", "try again"))
    client = FakeClient(update_error="not_found")
    handle_edit_submission(ack=client.ack, body=submission(), view=submission()["view"],
                           client=client, context=editing_context(answerer, down),
                           logger=LOGGER)
    [told] = client.sent("chat.postMessage")
    assert told["channel"] == EDITOR
    assert NEW["question"] in told["text"] and "database is unavailable" in told["text"]


def test_when_the_thread_cant_be_told_the_editor_is_told_directly(answerer: Answerer) -> None:
    client = FakeClient(unpostable=CHANNEL)
    handle_edit_submission(ack=client.ack, body=submission(), view=submission()["view"],
                           client=client, context=editing_context(answerer, FakeEditing(answerer)),
                           logger=LOGGER)
    assert client.names == ["ack", "chat.postMessage refused", "chat.postMessage"]
    [told] = client.sent("chat.postMessage")
    assert told["channel"] == EDITOR and told["text"].startswith("Saved as an FAQ:")
    assert "thread_ts" not in told


def test_other_errors_posting_in_the_thread_are_not_hidden_in_a_dm(answerer: Answerer) -> None:
    client = FakeClient(unpostable=CHANNEL, post_error="invalid_blocks")
    with pytest.raises(SlackApiError):  # Bolt's error handler logs it, with the method
        handle_edit_submission(ack=client.ack, body=submission(), view=submission()["view"],
                               client=client,
                               context=editing_context(answerer, FakeEditing(answerer)),
                               logger=LOGGER)
    assert client.sent("chat.postMessage") == []


def test_errors_are_capped_and_unknown_fields_go_under_the_question() -> None:
    assert modals.errors({"category": "x" * 5000, "url": "bad"}) == {
        "question": "x" * modals.ERROR_LIMIT, "url": "bad"}


# -- damaged private_metadata -------------------------------------------------------------------

DAMAGED = [
    "not json", "[]", "null", "5", '"C1"', "{", '{"channel": "C1"}', '{"thread_ts": "1.2"}',
    '{"channel": "<!channel>", "thread_ts": "1.2"}', '{"channel": "C1", "thread_ts": "soon"}',
    '{"channel": "C1", "thread_ts": 1.2}', '{"faq_id": 5}', '{"faq_id": ""}',
    '{"faq_id": ["a"]}', '{"extra": 1}', '{"faq_id": "' + "a" * 4000 + '"}', 5, ["x"],
    {"channel": "C1"},
]


@pytest.mark.parametrize("metadata", DAMAGED)
def test_damaged_private_metadata_is_refused_and_nothing_is_saved(answerer: Answerer,
                                                                 metadata: Any) -> None:
    client, editing = submit(answerer, submission(metadata=metadata))
    assert refusal(client) == {"question": modals.DAMAGED}
    assert editing.saved == []


def test_an_edit_of_an_faq_that_is_gone_is_refused(answerer: Answerer) -> None:
    metadata = json.dumps({"faq_id": "never-was"})

    class Live(FakeEditing):
        """LiveFaq's extra rule: the FAQ being replaced must exist."""

        def problems(self, row: Any, *, replacing: str | None = None) -> dict[str, str]:
            found = super().problems(row, replacing=replacing)
            if replacing and self.answerer.faq.by_id(replacing) is None:
                found["question"] = f"there is no FAQ with id {replacing!r}"
            return found

    client, editing = submit(answerer, submission(metadata=metadata),
                             editing=Live(answerer))
    assert "never-was" in refusal(client)["question"]
    assert editing.checked[0][1] == "never-was" and editing.saved == []


# -- the Edit button ----------------------------------------------------------------------------

def click_edit(answerer: Answerer, user: str) -> tuple[FakeClient, list[dict[str, Any]]]:
    body = payload(blocks.EDIT, "replacement-card")
    body["user"]["id"] = user
    client, responses = FakeClient(), []
    handle_edit(ack=client.ack, action=body["actions"][0], body=body,
                respond=lambda **kwargs: responses.append(kwargs), client=client,
                context=editing_context(answerer, FakeEditing(answerer)))
    return client, responses


def test_edit_opens_the_modal_on_the_faq_as_it_is_now(answerer: Answerer) -> None:
    client, responses = click_edit(answerer, EDITOR)
    assert responses == []
    current = answerer.faq.by_id("replacement-card")
    assert current is not None
    view = client.modal
    assert view["callback_id"] == modals.EDIT_CALLBACK
    assert initial(view) == {"question": current.question, "answer": current.answer,
                             "url": current.url, "alternates": "\n".join(current.alternates)}
    where = modals.read_where(view["private_metadata"])
    assert where == modals.Where(channel="C0FAQ", thread_ts=CLICK_THREAD,
                                 faq_id="replacement-card", seen=seen(current).encode())


def test_edit_by_a_non_editor_is_refused_privately(answerer: Answerer) -> None:
    client, responses = click_edit(answerer, STRANGER)
    assert client.sent("views.open") == []
    assert responses == [{"text": modals.NOT_AN_EDITOR, "response_type": "ephemeral",
                          "replace_original": False}]


# -- saves against an FAQ changed since the form opened ------------------------------------------

def changed_since(answerer: Answerer, *, fields: tuple[str, ...] = (),
                  merged: bool = False) -> EditChanged:
    current = replace(answerer.faq.by_id("replacement-card"), answer="B's newer answer.")
    return EditChanged(current, Revision(version=7, editor="U0OTHER",
                                         at=datetime(2026, 12, 4, 20, 31, tzinfo=UTC)),
                       fields, merged=replace(current, alternates=("typed",)) if merged
                       else None)


def editing_form(answerer: Answerer) -> str:
    return modals.editing(answerer.faq.by_id("replacement-card"), channel=CHANNEL,
                          thread_ts=THREAD).encode()


def test_a_save_against_a_newer_version_comes_back_with_who_when_and_both_texts(
        answerer: Answerer) -> None:
    typed = {**NEW, "answer": "My answer, typed before B saved."}
    changed = changed_since(answerer, fields=("answer",))
    client, _ = submit(answerer, submission(typed, metadata=editing_form(answerer)),
                             editing=FakeEditing(answerer, failure=changed))
    [ack] = client.sent("ack")
    assert ack["response_action"] == "update"
    view = ack["view"]
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert "<@U0OTHER>" in text and "<!date^1796416260^" in text
    assert "B's newer answer." in text  # the current text, shown
    assert initial(view)["answer"] == "My answer, typed before B saved."  # theirs, kept
    where = modals.read_where(view["private_metadata"])
    assert where.seen == seen(changed.current).encode()  # saving again means "keep mine"
    assert (where.channel, where.thread_ts) == (CHANNEL, THREAD)
    assert client.sent("chat.postMessage") == []


def test_changes_to_other_fields_are_merged_into_the_form_shown_again(
        answerer: Answerer) -> None:
    changed = changed_since(answerer, merged=True)
    client, _ = submit(answerer, submission(metadata=editing_form(answerer)),
                       editing=FakeEditing(answerer, failure=changed))
    [ack] = client.sent("ack")
    assert initial(ack["view"])["alternates"] == "typed"
    assert initial(ack["view"])["answer"] == "B's newer answer."


def test_a_slow_save_against_a_newer_version_updates_the_form_after_saving(
        answerer: Answerer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "ANSWER_WITHIN_SECONDS", 0.0)
    monkeypatch.setattr(views, "UPDATE_AFTER_ANSWER_SECONDS", 0.0)
    editing = FakeEditing(answerer, failure=changed_since(answerer), delay=0.05)
    client, _ = submit(answerer, submission(metadata=editing_form(answerer)), editing=editing)
    [ack] = client.sent("ack")
    assert ack["response_action"] == "update" and ack["view"]["title"]["text"] == "Saving…"
    [update] = client.sent("views.update")
    assert "<@U0OTHER>" in json.dumps(update["view"]["blocks"])


def test_a_forged_seen_is_refused_as_damaged(answerer: Answerer) -> None:
    forged = json.dumps({"faq_id": "replacement-card", "seen": "<!channel>"})
    client, _ = submit(answerer, submission(metadata=forged))
    assert refusal(client) == {"question": modals.DAMAGED}
