"""``handle_save_shortcut`` called directly: what the "Save as FAQ" modal is prefilled with,
where it will post, and what someone who may not save FAQs sees instead."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bot.faq.answerer import Answerer
from bot.slack import modals
from bot.slack.listeners.shortcuts import handle_save_shortcut
from tests.slack.listeners.edit_fakes import (
    CHANNEL,
    EDITOR,
    REPLY,
    STRANGER,
    THREAD,
    FakeClient,
    FakeEditing,
    editing_context,
    fields,
    initial,
)
from tests.standins.slack_standin import TEAM_ID

LOGGER = logging.getLogger("tests.shortcuts")
ASKED = "<@U0BOT> how do I order a *new* card &amp; how long does it take? :thinking_face:"
ANSWERED = ("Use <https://www.medicare.gov/account|your Medicare account> or call us.\n"
            "<!channel> it takes ~30 days &lt;usually&gt;")


def shortcut(text: str = ANSWERED, *, user: str = EDITOR, ts: str = REPLY,
             thread_ts: str | None = THREAD, **extra: Any) -> dict[str, Any]:
    """A message_action payload as Slack sends it for "Save as FAQ" on a message."""
    message: dict[str, Any] = {"type": "message", "user": "U0HELPER", "text": text, "ts": ts}
    if thread_ts:
        message["thread_ts"] = thread_ts
    return {"type": "message_action", "callback_id": modals.SAVE_SHORTCUT,
            "trigger_id": "1234.5678.abcdef", "team": {"id": TEAM_ID},
            "user": {"id": user}, "channel": {"id": CHANNEL}, "message_ts": ts,
            "message": message, "response_url": "https://hooks.slack.com/app/T0001/1/x",
            **extra}


def run(answerer: Answerer, payload: dict[str, Any], *, client: FakeClient | None = None,
        editors: frozenset[str] = frozenset({EDITOR})) -> FakeClient:
    client = client or FakeClient(thread=[{"ts": THREAD, "text": ASKED, "user": "U0ASKER"}])
    context = editing_context(answerer, FakeEditing(answerer), editors)
    handle_save_shortcut(ack=client.ack, shortcut=payload, client=client, context=context,
                         logger=LOGGER)
    assert client.names[0] == "ack"
    return client


def test_a_reply_prefills_the_question_from_the_thread_and_the_answer_from_itself(
        answerer: Answerer) -> None:
    client = run(answerer, shortcut())
    [replies] = client.sent("conversations.replies")
    assert replies == {"channel": CHANNEL, "ts": THREAD, "limit": 1}
    view = client.modal
    assert client.sent("views.open")[0]["trigger_id"] == "1234.5678.abcdef"
    assert view["callback_id"] == modals.EDIT_CALLBACK
    assert initial(view) == {
        "question": "how do I order a *new* card & how long does it take?",
        "answer": ("Use your Medicare account (https://www.medicare.gov/account) or call us.\n"
                   "@channel it takes ~30 days <usually>"),
        "url": "", "alternates": ""}
    assert json.loads(view["private_metadata"]) == {"channel": CHANNEL, "thread_ts": THREAD}


def test_the_modal_has_the_contract_ids(answerer: Answerer) -> None:
    inputs = fields(run(answerer, shortcut()).modal)
    assert list(inputs) == ["question", "answer", "url", "alternates"]
    assert {b["element"]["type"] for b in inputs.values()} == {"plain_text_input"}
    assert {b["element"]["action_id"] for b in inputs.values()} == {"value"}
    assert {n for n, b in inputs.items() if b["element"]["multiline"]} == {"answer", "alternates"}
    assert {n for n, b in inputs.items() if b["optional"]} == {"url", "alternates"}


def test_a_top_level_message_is_both_question_and_answer_and_its_own_thread(
        answerer: Answerer) -> None:
    client = run(answerer, shortcut("How do I get a new card?", ts=THREAD, thread_ts=None))
    assert client.sent("conversations.replies") == []
    assert initial(client.modal)["question"] == initial(client.modal)["answer"]
    assert json.loads(client.modal["private_metadata"])["thread_ts"] == THREAD


def test_a_thread_root_is_not_fetched_again(answerer: Answerer) -> None:
    client = run(answerer, shortcut("the root", ts=THREAD, thread_ts=THREAD))
    assert client.sent("conversations.replies") == []
    assert initial(client.modal)["question"] == "the root"


def test_a_thread_slack_wont_show_falls_back_to_the_message(answerer: Answerer) -> None:
    client = run(answerer, shortcut("Call 1-800-MEDICARE."),
                 client=FakeClient(replies_error="not_in_channel"))
    assert client.sent("conversations.replies")
    assert initial(client.modal)["question"] == "Call 1-800-MEDICARE."


def test_hostile_text_is_capped_to_what_a_modal_holds_and_says_so(answerer: Answerer) -> None:
    huge = "🎉 <!channel> " + "x" * 10_000
    view = run(answerer, shortcut(huge)).modal
    answer = initial(view)["answer"]
    assert answer.startswith("🎉 @channel x") and len(answer) == modals.INPUT_LIMIT
    assert modals.TOO_LONG in json.dumps(view)


@pytest.mark.parametrize("channel", [{"id": "<!channel>"}, None, "C1"])
def test_a_channel_not_shaped_like_slacks_posts_nowhere(answerer: Answerer,
                                                        channel: Any) -> None:
    client = run(answerer, shortcut(channel=channel))
    assert client.sent("conversations.replies") == []
    assert client.modal["private_metadata"] == ""


def test_a_non_editor_is_told_who_may_save(answerer: Answerer) -> None:
    client = run(answerer, shortcut(user=STRANGER))
    view = client.modal
    assert view.get("callback_id") != modals.EDIT_CALLBACK and "submit" not in view
    text = json.dumps(view)
    assert "Only FAQ editors can save FAQs" in text and "FAQ_EDITORS" in text
    assert client.sent("conversations.replies") == []


def test_with_no_editors_the_modal_says_editing_is_off_and_how_to_turn_it_on(
        answerer: Answerer) -> None:
    text = json.dumps(run(answerer, shortcut(), editors=frozenset()).modal)
    assert "off" in text and "FAQ_EDITORS" in text and "comma-separated" in text
    assert "restart" in text


@pytest.mark.parametrize("trigger", [None, "", "x" * 200, "bad trigger"])
def test_a_shortcut_without_a_usable_trigger_opens_nothing(answerer: Answerer,
                                                          trigger: Any) -> None:
    client = run(answerer, shortcut(trigger_id=trigger))
    assert client.names == ["ack"]
