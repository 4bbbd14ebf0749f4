"""The "Save as FAQ" message shortcut: open the FAQ modal on a message, for FAQ editors.

The question is prefilled from the thread's first message (what was asked) and the answer
from the message the shortcut was used on (what answered it). Anyone else gets a modal
saying who may save FAQs, and how editing from Slack is turned on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack import modals
from bot.slack.ids import TEAM_OR_CHANNEL, TRIGGER, TS, shaped
from bot.slack.services import services
from bot.slack.text import clean, plain


def register(app: App) -> None:
    app.message_shortcut(modals.SAVE_SHORTCUT)(handle_save_shortcut)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(message: Mapping[str, Any]) -> str:
    text = message.get("text")
    return text if isinstance(text, str) else ""


def handle_save_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient,
                         context: BoltContext, logger: logging.Logger) -> None:
    """Open the prefilled modal (or the refusal) with the shortcut's trigger id."""
    ack()
    trigger_id = shortcut.get("trigger_id")
    if not shaped(trigger_id, TRIGGER):
        logger.warning("ignored a Save as FAQ shortcut: its trigger_id is missing or not "
                       "shaped like Slack's")
        return
    faq = services(context)
    if not faq.may_edit(str(_mapping(shortcut.get("user")).get("id", ""))):
        client.views_open(trigger_id=trigger_id, view=modals.refusal_modal(
            editing_on=faq.editing is not None and bool(faq.editors)))
        return
    message = _mapping(shortcut.get("message"))
    channel = _mapping(shortcut.get("channel")).get("id")
    ts, thread_ts = message.get("ts"), message.get("thread_ts")
    root = thread_ts if shaped(thread_ts, TS) else ts
    where = (modals.Where(channel=channel, thread_ts=root)
             if shaped(channel, TEAM_OR_CHANNEL) and shaped(root, TS) else modals.Where())
    asked = _text(message)
    if where.channel and root != ts:
        asked = _thread_root(client, where.channel, root, logger) or asked
    draft = modals.Draft(question=clean(asked), answer=plain(_text(message)))
    client.views_open(trigger_id=trigger_id, view=modals.edit_modal(draft, where))


def _thread_root(client: WebClient, channel: str, thread_ts: str,
                 logger: logging.Logger) -> str:
    """The text of the thread's first message; "" when Slack won't say (the bot isn't in the
    conversation, or lacks the history scope there), so the modal still opens."""
    try:
        response = client.conversations_replies(channel=channel, ts=thread_ts, limit=1)
    except SlackApiError as error:
        logger.warning("could not read the thread's first message (conversations.replies: "
                       "%s); prefilling the question from the message itself",
                       error.response.get("error"))
        return ""
    messages = response.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    return _text(_mapping(first))
