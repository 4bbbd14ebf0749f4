"""``handle_choice``, ``handle_vote`` and ``handle_share`` called directly: each acks, then
answers from the loaded FAQ, in the thread or in place, and records the click."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import BoltContext

from bot.faq.answerer import Answerer
from bot.slack import blocks
from bot.slack.listeners.actions import GONE, handle_choice, handle_share, handle_vote
from bot.storage import Store, schema
from tests.conftest import table_rows
from tests.slack.listeners.conftest import FAQ_CHANNEL, FakeSlack, context_for
from tests.standins.slack_standin import TEAM_ID

LOGGER = logging.getLogger("tests.listeners")
CHOICES = ["premium-help", "what-is-medicare", "sign-up"]


def click(action_id: str, value: str, *, ephemeral: bool,
          message_blocks: list[dict[str, Any]] | None = None) -> tuple[dict, dict]:
    """The ``action`` and ``body`` Bolt passes for a button click."""
    action = {"action_id": action_id, "value": value, "type": "button", "block_id": "b1"}
    body: dict[str, Any] = {
        "type": "block_actions", "user": {"id": "U2"}, "team": {"id": TEAM_ID},
        "channel": {"id": FAQ_CHANNEL},
        "container": {"type": "message", "message_ts": "20.000001", "channel_id": FAQ_CHANNEL,
                      "is_ephemeral": ephemeral},
        "actions": [action]}
    if not ephemeral:  # only public messages come with their blocks
        body["message"] = {"ts": "20.000001", "thread_ts": "10.000001",
                           "blocks": message_blocks or []}
    return action, body


def choice_blocks(answerer: Answerer) -> list[dict[str, Any]]:
    return blocks.choices_message([answerer.faq.by_id(faq_id) for faq_id in CHOICES]).blocks


def action_ids(kwargs: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in kwargs["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


def test_a_choice_on_a_public_message_answers_in_its_thread(
        slack: FakeSlack, answerer: Answerer, recorder: Store, log_url: str) -> None:
    action, body = click("faq_choice_1", "what-is-medicare", ephemeral=False,
                         message_blocks=choice_blocks(answerer))
    handle_choice(ack=slack.ack, action=action, body=body, respond=slack.respond,
                  client=slack, context=context_for(answerer, recorder))
    assert slack.names == ["ack", "chat.postMessage"]
    [post] = slack.sent("chat.postMessage")
    entry = answerer.faq.by_id("what-is-medicare")
    assert (post["channel"], post["thread_ts"]) == (FAQ_CHANNEL, "10.000001")
    assert post == {"channel": FAQ_CHANNEL, "thread_ts": "10.000001",
                    **blocks.answer_message(entry).as_kwargs()}
    [row] = table_rows(log_url, schema.choices)
    assert (row["chosen"], row["shown"], row["message_ts"]) == ("what-is-medicare", CHOICES,
                                                                "20.000001")


def test_a_choice_on_a_private_answer_replaces_it_shareably(slack: FakeSlack,
                                                            context: BoltContext) -> None:
    action, body = click("faq_choice_0", "premium-help", ephemeral=True)
    handle_choice(ack=slack.ack, action=action, body=body, respond=slack.respond,
                  client=slack, context=context)
    assert slack.names == ["ack", "respond"]
    [reply] = slack.sent("respond")
    assert reply["replace_original"] is True
    assert action_ids(reply) == [blocks.VOTE_UP, blocks.VOTE_DOWN, blocks.SHARE]


def test_a_button_for_a_removed_faq_says_so_everywhere(slack: FakeSlack,
                                                      context: BoltContext) -> None:
    gone = {"text": GONE, "response_type": "ephemeral", "replace_original": False}
    action, body = click("faq_choice_0", "no-such-faq", ephemeral=False)
    handle_choice(ack=slack.ack, action=action, body=body, respond=slack.respond,
                  client=slack, context=context)
    action, body = click(blocks.SHARE, "no-such-faq", ephemeral=True)
    handle_share(ack=slack.ack, action=action, body=body, respond=slack.respond,
                 context=context)
    assert slack.calls == [("ack", {"args": ()}), ("respond", gone),
                           ("ack", {"args": ()}), ("respond", gone)]


def test_a_vote_updates_the_message_and_is_stored(slack: FakeSlack, answerer: Answerer,
                                                  recorder: Store, log_url: str) -> None:
    shown = blocks.answer_message(answerer.faq.by_id("replacement-card")).blocks
    action, body = click(blocks.VOTE_DOWN, "replacement-card", ephemeral=False,
                         message_blocks=shown)
    handle_vote(ack=slack.ack, action=action, body=body, respond=slack.respond,
                context=context_for(answerer, recorder), logger=LOGGER)
    assert slack.names == ["ack", "respond"]
    [update] = slack.sent("respond")
    note = blocks.vote_note("U2", helpful=False)
    assert update == {"replace_original": True, "text": note,
                      "blocks": blocks.with_vote_note(shown, note)}
    [row] = table_rows(log_url, schema.votes)
    assert (row["faq_id"], row["vote"], row["channel"], row["message_ts"]) == (
        "replacement-card", "down", FAQ_CHANNEL, "20.000001")


def test_a_vote_on_a_private_answer_re_renders_it_shareable(slack: FakeSlack,
                                                            context: BoltContext) -> None:
    action, body = click(blocks.VOTE_UP, "replacement-card", ephemeral=True)
    handle_vote(ack=slack.ack, action=action, body=body, respond=slack.respond,
                context=context, logger=LOGGER)
    [update] = slack.sent("respond")
    assert action_ids(update) == [blocks.VOTE_UP, blocks.VOTE_DOWN, blocks.SHARE]
    rendered = json.dumps(update["blocks"], ensure_ascii=False)
    assert "<@U2> found this helpful 👍" in rendered


def test_a_vote_for_a_removed_faq_is_acked_and_recorded_but_changes_nothing(
        slack: FakeSlack, answerer: Answerer, recorder: Store, log_url: str) -> None:
    action, body = click(blocks.VOTE_UP, "no-such-faq", ephemeral=True)
    handle_vote(ack=slack.ack, action=action, body=body, respond=slack.respond,
                context=context_for(answerer, recorder), logger=LOGGER)
    assert slack.names == ["ack"]
    [row] = table_rows(log_url, schema.votes)
    assert (row["faq_id"], row["vote"]) == ("no-such-faq", "up")


def test_share_posts_in_channel_then_removes_the_private_copy(
        slack: FakeSlack, context: BoltContext, answerer: Answerer) -> None:
    action, body = click(blocks.SHARE, "replacement-card", ephemeral=True)
    handle_share(ack=slack.ack, action=action, body=body, respond=slack.respond,
                 context=context)
    assert slack.names == ["ack", "respond", "respond"]
    shared, deleted = slack.sent("respond")
    entry = answerer.faq.by_id("replacement-card")
    expected = blocks.answer_message(entry, note="Shared by <@U2> from `/faq`").as_kwargs()
    assert shared == {"response_type": "in_channel", "replace_original": False, **expected}
    assert action_ids(shared) == [blocks.VOTE_UP, blocks.VOTE_DOWN]  # no share button
    assert deleted == {"delete_original": True}
