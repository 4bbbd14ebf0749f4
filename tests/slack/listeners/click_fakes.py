"""Fakes for calling the click listeners directly: a block_actions payload as Slack sends
it for a click on the bot's message, recording ``respond``/client/recorder stand-ins, and the
Bolt context ``create_app`` would give."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import BoltContext

from bot.slack import blocks
from bot.slack.listeners.actions import handle_choice, handle_share, handle_vote
from tests.standins.slack_standin import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID

HOOK = "https://hooks.slack.com/actions/T0001/123/abc"
CHANNEL = "C0FAQ"
THREAD = "1700000000.000100"  # the question the bot answered with choices
MESSAGE = "1700000001.000200"  # the bot's choices message, in that thread
CHOSEN = "part-b-premium"

_triggers = itertools.count(1)


class Calls:
    """A recording stand-in for ``respond`` (call it) and for the client (chat_postMessage)."""

    def __init__(self) -> None:
        self.responses: list[dict[str, Any]] = []
        self.posts: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.responses.append(kwargs)

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self.posts.append(kwargs)
        return {"ok": True}


def choices_blocks(answerer: Any) -> list[dict[str, Any]]:
    entries = [answerer.faq.by_id(i) for i in ("part-b-with-part-a", CHOSEN, "sign-up")]
    return blocks.choices_message(entries).blocks


def payload(action_id: str, value: str, *, ephemeral: bool = False,
            message_blocks: Sequence[dict[str, Any]] = (), message_ts: str = MESSAGE
            ) -> dict[str, Any]:
    """A block_actions body as Slack sends it for a click on the bot's message; each has a
    trigger id of its own, as each click does."""
    body: dict[str, Any] = {
        "type": "block_actions", "api_app_id": APP_ID,
        "trigger_id": f"{next(_triggers)}.222.abc",
        "user": {"id": "U0VOTER", "username": "voter", "team_id": TEAM_ID},
        "team": {"id": TEAM_ID, "domain": "acme"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL,
                      "is_ephemeral": ephemeral},
        "channel": {"id": CHANNEL, "name": "faq"},
        "response_url": HOOK,
        "actions": [{"action_id": action_id, "value": value, "type": "button",
                     "block_id": "b1", "action_ts": "1700000002.000300"}],
    }
    if not ephemeral:
        body["message"] = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID,
                           "ts": message_ts, "thread_ts": THREAD, "text": "…",
                           "blocks": list(message_blocks)}
    return body


Listener = Callable[..., None]
LISTENERS = {handle_choice: "faq_choice_1", handle_vote: "faq_vote_up", handle_share: "faq_share"}


def click(listener: Listener, body: dict[str, Any], context: BoltContext) -> Calls:
    calls = Calls()
    acks: list[Any] = []
    kwargs: dict[str, Any] = {"ack": lambda *a, **k: acks.append(a), "action": body["actions"][0],
                              "body": body, "respond": calls, "context": context}
    if listener is handle_choice:
        kwargs["client"] = calls
    if listener is handle_vote:
        kwargs["logger"] = logging.getLogger("bot.slack.listeners")
    listener(**kwargs)
    assert len(acks) == 1  # acked whatever the payload said
    return calls


def choice(answerer: Any, **options: Any) -> dict[str, Any]:
    return payload("faq_choice_1", CHOSEN, message_blocks=choices_blocks(answerer), **options)
