"""Button clicks: pick one of several FAQs, vote on an answer, share a private answer.

Every button's value is an FAQ id, so a click is answered from the loaded dataset.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.slack import blocks
from bot.slack.services import Services, services

GONE = "That FAQ is no longer in the dataset; ask again to get the current answer."


def register(app: App) -> None:
    app.action(re.compile(rf"^{blocks.CHOICE_ACTION_PREFIX}\d+$"))(handle_choice)
    app.action(re.compile(rf"^({blocks.VOTE_UP}|{blocks.VOTE_DOWN})$"))(handle_vote)
    app.action(blocks.SHARE)(handle_share)


def _ephemeral(body: dict[str, Any]) -> bool:
    return bool(body.get("container", {}).get("is_ephemeral"))


def _where(body: dict[str, Any]) -> dict[str, str]:
    """Who clicked, on which message: the fields every feedback row carries."""
    return {"team": str(body.get("team", {}).get("id", "")),
            "channel": str(body.get("channel", {}).get("id", "")),
            "message_ts": str(body.get("container", {}).get("message_ts", "")),
            "user": str(body.get("user", {}).get("id", ""))}


def _choices_shown(body: dict[str, Any]) -> list[str]:
    """The FAQ ids on the message's choice buttons, in order (ephemeral messages carry no
    blocks, so there it is unknown and empty)."""
    return [str(element.get("value", ""))
            for block in (body.get("message") or {}).get("blocks") or []
            for element in block.get("elements") or []
            if str(element.get("action_id", "")).startswith(blocks.CHOICE_ACTION_PREFIX)]


def _record_choice(faq: Services, body: dict[str, Any], chosen: str) -> None:
    if faq.recorder is not None:
        faq.recorder.log_choice(**_where(body), chosen=chosen, shown=_choices_shown(body))


def handle_choice(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond,
                  client: WebClient, context: BoltContext) -> None:
    """Show the chosen answer: in the thread for a public message, in place for /faq."""
    ack()
    faq = services(context)
    entry = faq.entry(action.get("value", ""))
    if entry is None:
        respond(text=GONE, response_type="ephemeral", replace_original=False)
        return
    _record_choice(faq, body, entry.id)
    if _ephemeral(body):
        respond(replace_original=True, **blocks.answer_message(entry, shareable=True).as_kwargs())
        return
    message = body.get("message") or {}
    thread_ts = message.get("thread_ts")
    client.chat_postMessage(channel=body["channel"]["id"], thread_ts=thread_ts,
                            **blocks.answer_message(entry).as_kwargs())


def handle_vote(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond,
                context: BoltContext, logger: logging.Logger) -> None:
    """Record the vote and update the message so the voter sees it was counted."""
    ack()
    helpful = action.get("action_id") == blocks.VOTE_UP
    faq_id = action.get("value", "")
    user = body.get("user", {}).get("id", "")
    logger.info("feedback faq=%s helpful=%s channel=%s", faq_id, helpful,
                body.get("channel", {}).get("id", ""))
    faq = services(context)
    if faq.recorder is not None:
        faq.recorder.log_vote(**_where(body), faq_id=faq_id, vote="up" if helpful else "down")
    shown = (body.get("message") or {}).get("blocks")
    if not shown:  # ephemeral messages come without their blocks: re-render the /faq answer
        entry = faq.entry(faq_id)
        if entry is None:
            return
        shown = blocks.answer_message(entry, shareable=_ephemeral(body)).blocks
    note = blocks.vote_note(user, helpful)
    respond(replace_original=True, text=note, blocks=blocks.with_vote_note(shown, note))


def handle_share(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond,
                 context: BoltContext) -> None:
    """Post the private /faq answer in the channel, then remove the private copy."""
    ack()
    entry = services(context).entry(action.get("value", ""))
    if entry is None:
        respond(text=GONE, response_type="ephemeral", replace_original=False)
        return
    note = f"Shared by <@{body.get('user', {}).get('id', '')}> from `/faq`"
    respond(response_type="in_channel", replace_original=False,
            **blocks.answer_message(entry, note=note).as_kwargs())
    respond(delete_original=True)
