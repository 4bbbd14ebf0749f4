"""``handle_faq`` (``/faq``) called directly: ack first, then one private reply; help for an
empty question; what is logged."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from slack_bolt import BoltContext

from bot.faq.answerer import Answerer
from bot.slack import blocks
from bot.slack.listeners.commands import handle_faq
from bot.storage import Store, schema
from tests.conftest import table_rows
from tests.slack.listeners.conftest import FAQ_CHANNEL, FakeSlack, context_for
from tests.standins.slack_standin import TEAM_ID

LOGGER = logging.getLogger("tests.listeners")


def command(text: str | None, trigger: str = "13345224609.738474920.8088930838d88f008e0") -> dict:
    return {"command": "/faq", "text": text, "team_id": TEAM_ID, "channel_id": FAQ_CHANNEL,
            "user_id": "U1", "trigger_id": trigger,
            "response_url": "https://hooks.slack.com/commands/T0001/1/x"}


def faq(slack: FakeSlack, context: BoltContext, text: str | None,
        trigger: str = "13345224609.738474920.8088930838d88f008e0") -> dict[str, Any]:
    """Run /faq; return its one reply, after checking it came once, privately, after ack."""
    handle_faq(ack=slack.ack, command=command(text, trigger), respond=slack.respond,
               context=context, logger=LOGGER)
    assert slack.names == ["ack", "respond"]
    [reply] = slack.sent("respond")
    assert reply["response_type"] == "ephemeral"
    return reply


def action_ids(reply: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["action_id"], e["value"]) for b in reply["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


def test_a_question_is_acked_then_answered_privately_with_share(slack: FakeSlack,
                                                                context: BoltContext) -> None:
    reply = faq(slack, context, "lost my medicare card")
    [ack] = slack.sent("ack")
    assert ack == {"args": ()}  # an empty ack: nothing is posted in the channel
    assert action_ids(reply) == [(blocks.VOTE_UP, "replacement-card"),
                                 (blocks.VOTE_DOWN, "replacement-card"),
                                 (blocks.SHARE, "replacement-card")]


@pytest.mark.parametrize("text", ["", "help", "  HELP ", "?"])
def test_no_question_shows_usage_and_examples(slack: FakeSlack, context: BoltContext,
                                              answerer: Answerer, text: str) -> None:
    reply = faq(slack, context, text)
    assert reply["text"] == "Ask the FAQ with /faq &lt;question&gt;"
    rendered = json.dumps(reply["blocks"], ensure_ascii=False)
    examples = answerer.faq.examples(3)
    assert len(examples) == 3 and all(f"`/faq {q}`" in rendered for q in examples)


def test_no_match_says_so_and_points_to_help(slack: FakeSlack, context: BoltContext) -> None:
    reply = faq(slack, context, "what's for lunch today?")
    assert reply["text"] == ("I couldn't find an FAQ that answers that. Try rephrasing it, or "
                             "type `/faq help` for examples.")


def test_close_matches_offer_choices(slack: FakeSlack, context: BoltContext) -> None:
    reply = faq(slack, context, "How can Medicare help me?")
    assert [value for _, value in action_ids(reply)] == ["premium-help", "what-is-medicare",
                                                          "sign-up"]


def test_a_missing_text_field_is_usage_not_a_crash(slack: FakeSlack,
                                                   context: BoltContext) -> None:
    reply = faq(slack, context, None)
    assert reply["text"] == "Ask the FAQ with /faq &lt;question&gt;"


def test_questions_are_logged_by_trigger_id(slack: FakeSlack, answerer: Answerer,
                                            recorder: Store, log_url: str) -> None:
    context = context_for(answerer, recorder)
    faq(slack, context, "lost my medicare card")
    slack.calls.clear()
    faq(slack, context, "help", trigger="13345224609.738474920.9")  # usage: not logged
    [row] = table_rows(log_url, schema.questions)
    assert (row["ts"], row["channel"], row["team"]) == (
        "command:13345224609.738474920.8088930838d88f008e0", FAQ_CHANNEL, TEAM_ID)
    assert (row["decision"], row["direct"], row["text"]) == ("answer", True,
                                                             "lost my medicare card")
