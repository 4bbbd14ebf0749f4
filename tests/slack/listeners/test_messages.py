"""``handle_message`` and ``handle_mention`` called directly: where the reply goes, when
there is none, one reply per message, and what is logged."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import BoltContext

from bot.faq.answerer import Answerer
from bot.slack import blocks
from bot.slack.listeners.messages import handle_mention, handle_message
from bot.storage import Store, schema
from tests.conftest import table_rows
from tests.slack.listeners.conftest import FAQ_CHANNEL, FakeSlack, context_for
from tests.standins.slack_standin import BOT_USER_ID, TEAM_ID

LOGGER = logging.getLogger("tests.listeners")
CARD_QUESTION = "How do I get a replacement Medicare card?"
CARD_URL = "https://www.medicare.gov/basics/get-started-with-medicare/using-medicare"


def event(text: str, ts: str = "1.000001", *, channel: str = FAQ_CHANNEL,
          **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel": channel, "user": "U1", "text": text, "ts": ts,
            "channel_type": "channel", **extra}


def body(event: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": TEAM_ID, "event": event}


def message(slack: FakeSlack, context: BoltContext, event: dict[str, Any]) -> None:
    handle_message(event=event, body=body(event), context=context, client=slack,
                   logger=LOGGER)


def mention(slack: FakeSlack, context: BoltContext, event: dict[str, Any]) -> None:
    handle_mention(event={**event, "type": "app_mention"}, body=body(event), context=context,
                   client=slack, logger=LOGGER)


def buttons(post: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["action_id"], e["value"]) for b in post["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


def test_a_channel_question_is_answered_in_its_thread(slack: FakeSlack,
                                                      context: BoltContext) -> None:
    message(slack, context, event("how do I get a new medicare card?", "1.1"))
    [post] = slack.sent("chat.postMessage")
    assert (post["channel"], post["thread_ts"]) == (FAQ_CHANNEL, "1.1")
    assert buttons(post) == [(blocks.VOTE_UP, "replacement-card"),
                             (blocks.VOTE_DOWN, "replacement-card")]
    rendered = json.dumps(post["blocks"])
    assert CARD_QUESTION in rendered and CARD_URL in rendered
    assert post["text"].startswith(CARD_QUESTION)


def test_chatter_and_unlisted_channels_get_no_reply(slack: FakeSlack,
                                                    context: BoltContext) -> None:
    message(slack, context, event("lol see you at lunch", "2.1"))
    message(slack, context, event("how do I enroll in the company 401k?", "2.2"))
    message(slack, context, event(CARD_QUESTION, "2.3", channel="COTHER"))  # not in FAQ_CHANNELS
    message(slack, context, event(CARD_QUESTION, "2.4", thread_ts="2.0"))  # a thread reply
    assert slack.calls == []


def test_bots_edits_and_subtypes_are_ignored(slack: FakeSlack, context: BoltContext) -> None:
    message(slack, context, event(CARD_QUESTION, "3.1", user=BOT_USER_ID, bot_id="B0BOT"))
    message(slack, context, event(CARD_QUESTION, "3.2", bot_id="B9"))
    message(slack, context, event(CARD_QUESTION, "3.3", subtype="message_changed"))
    message(slack, context, event("<@U1> has joined the channel", "3.4",
                                  subtype="channel_join"))
    mention(slack, context, event(f"<@{BOT_USER_ID}> {CARD_QUESTION}", "3.5", bot_id="B9"))
    assert slack.calls == []


def test_the_message_and_app_mention_twins_get_one_reply(slack: FakeSlack,
                                                         context: BoltContext) -> None:
    twin = event(f"<@{BOT_USER_ID}> how do I sign up for medicare?", "4.1")
    message(slack, context, twin)
    mention(slack, context, twin)
    message(slack, context, twin)  # Slack's retry
    [post] = slack.sent("chat.postMessage")
    assert post["thread_ts"] == "4.1" and buttons(post)[0] == (blocks.VOTE_UP, "sign-up")


def test_a_mention_without_a_match_says_so_and_points_to_faq(slack: FakeSlack,
                                                            context: BoltContext) -> None:
    mention(slack, context, event(f"<@{BOT_USER_ID}> what's for lunch today?", "5.1",
                                  channel="COTHER", thread_ts="5.0"))
    [post] = slack.sent("chat.postMessage")
    assert (post["channel"], post["thread_ts"]) == ("COTHER", "5.0")  # in the mention's thread
    assert post["text"] == ("I couldn't find an FAQ that answers that. Try rephrasing it, or "
                            "ask privately with `/faq &lt;question&gt;`.")


def test_a_mention_alone_gets_help(slack: FakeSlack, context: BoltContext,
                                   answerer: Answerer) -> None:
    mention(slack, context, event(f"<@{BOT_USER_ID}>", "5.2"))
    [post] = slack.sent("chat.postMessage")
    assert post["text"] == "Ask the FAQ with /faq &lt;question&gt;"
    assert all(f"`/faq {q}`" in json.dumps(post["blocks"], ensure_ascii=False)
               for q in answerer.faq.examples(3))


def test_a_dm_is_answered_in_the_conversation(slack: FakeSlack, context: BoltContext) -> None:
    message(slack, context, event("what does medicare part b cost per month?", "6.1",
                                  channel="D1", channel_type="im"))
    message(slack, context, event("hello there", "6.2", channel="D1", channel_type="im"))
    answer, nothing = slack.sent("chat.postMessage")
    assert (answer["channel"], answer["thread_ts"]) == ("D1", None)
    assert buttons(answer)[0] == (blocks.VOTE_UP, "part-b-premium")
    assert nothing["thread_ts"] is None and "couldn't find" in nothing["text"]


def test_close_matches_offer_three_choices_when_asked(slack: FakeSlack,
                                                     context: BoltContext) -> None:
    mention(slack, context, event(f"<@{BOT_USER_ID}> How can Medicare help me?", "7.1"))
    [post] = slack.sent("chat.postMessage")
    assert buttons(post) == [("faq_choice_0", "premium-help"), ("faq_choice_1", "what-is-medicare"),
                             ("faq_choice_2", "sign-up")]


def test_a_top_level_message_gets_one_sure_answer_or_silence(slack: FakeSlack,
                                                             context: BoltContext) -> None:
    """Unprompted, three guesses are noise: the channel point answers or stays silent."""
    message(slack, context, event("How can Medicare help me?", "7.2"))  # choices if asked
    assert slack.sent("chat.postMessage") == []
    message(slack, context, event(CARD_QUESTION, "7.3"))
    [post] = slack.sent("chat.postMessage")
    assert post["thread_ts"] == "7.3" and buttons(post)[0][0] != "faq_choice_0"


def test_questions_are_logged(slack: FakeSlack, answerer: Answerer, recorder: Store,
                              log_url: str) -> None:
    context = context_for(answerer, recorder)
    message(slack, context, event(CARD_QUESTION, "8.1"))
    message(slack, context, event("lol see you at lunch", "8.2"))  # silent, but logged
    mention(slack, context, event(f"<@{BOT_USER_ID}> what's for lunch?", "8.3"))
    logged = {row["ts"]: row for row in table_rows(log_url, schema.questions)}
    assert {ts: (row["decision"], row["direct"], row["team"], row["channel"])
            for ts, row in logged.items()} == {
        "8.1": ("answer", False, TEAM_ID, FAQ_CHANNEL),
        "8.2": ("none", False, TEAM_ID, FAQ_CHANNEL),
        "8.3": ("none", True, TEAM_ID, FAQ_CHANNEL)}
    assert logged["8.1"]["text"] == CARD_QUESTION
    assert logged["8.3"]["text"] == "what's for lunch?"  # as the engine saw it: no mention
    assert logged["8.1"]["candidates"][0]["id"] == "replacement-card"
    assert all(row["latency_ms"] > 0 for row in logged.values())
    assert len(slack.sent("chat.postMessage")) == 2
