"""Button clicks: pick one of several FAQs, vote on an answer, share a private answer.

Every button's value is an FAQ id, so a click is answered from the loaded dataset, and
re-rendered from it, never from the blocks the payload says the message had. Only what
``read_click`` checked of the payload is used.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.slack import blocks
from bot.slack.clicks import Click, read_click
from bot.slack.services import Services, services

GONE = "That FAQ is no longer in the dataset; ask again to get the current answer."
# More than a choices message ever shows; a payload listing more is cut here.
MAX_SHOWN = 10


def register(app: App) -> None:
    app.action(re.compile(rf"^{blocks.CHOICE_ACTION_PREFIX}\d+$"))(handle_choice)
    app.action(re.compile(rf"^({blocks.VOTE_UP}|{blocks.VOTE_DOWN})$"))(handle_vote)
    app.action(blocks.SHARE)(handle_share)


def _click(body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> Click | None:
    return read_click(body, action, response_urls=services(context).response_urls,
                      bot_user_id=context.bot_user_id or "", bot_id=context.bot_id or "")


def _gone(respond: Respond) -> None:
    respond(text=GONE, response_type="ephemeral", replace_original=False)


def _choices_shown(faq: Services, body: dict[str, Any]) -> list[str]:
    """The FAQ ids on the message's choice buttons, in order, keeping only FAQs that exist
    (ephemeral messages carry no blocks, so there it is unknown and empty)."""
    message = body.get("message")
    found = [element.get("value")
             for block in (message.get("blocks") if isinstance(message, dict) else None) or []
             if isinstance(block, dict)
             for element in block.get("elements") or []
             if isinstance(element, dict)
             and str(element.get("action_id", "")).startswith(blocks.CHOICE_ACTION_PREFIX)]
    known = [value for value in found if isinstance(value, str) and faq.entry(value)]
    return list(dict.fromkeys(known))[:MAX_SHOWN]


def handle_choice(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond,
                  client: WebClient, context: BoltContext) -> None:
    """Show the chosen answer: in the thread for a public message, in place for /faq."""
    ack()
    click = _click(body, action, context)
    if click is None:
        return
    faq = services(context)
    entry = faq.entry(click.value)
    if entry is None:
        _gone(respond)
        return
    if faq.recorder is not None:
        faq.recorder.log_choice(**click.where(), chosen=entry.id,
                                shown=_choices_shown(faq, body))
    if click.ephemeral:
        respond(replace_original=True, **blocks.answer_message(entry, shareable=True).as_kwargs())
        return
    client.chat_postMessage(channel=click.channel, thread_ts=click.thread_ts,
                            **blocks.answer_message(entry).as_kwargs())


def handle_vote(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond,
                context: BoltContext, logger: logging.Logger) -> None:
    """Record the vote and update the message so the voter sees it was counted."""
    ack()
    click = _click(body, action, context)
    if click is None:
        return
    faq = services(context)
    entry = faq.entry(click.value)
    if entry is None:
        _gone(respond)
        return
    helpful = action.get("action_id") == blocks.VOTE_UP
    logger.info("feedback faq=%s helpful=%s channel=%s", entry.id, helpful, click.channel)
    if faq.recorder is not None:
        faq.recorder.log_vote(**click.where(), faq_id=entry.id, vote="up" if helpful else "down")
    shown = blocks.answer_message(entry, shareable=click.ephemeral).blocks
    note = blocks.vote_note(click.user, helpful)
    respond(replace_original=True, text=note, blocks=blocks.with_vote_note(shown, note))


def handle_share(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond,
                 context: BoltContext) -> None:
    """Post the private /faq answer in the channel, then remove the private copy."""
    ack()
    click = _click(body, action, context)
    if click is None:
        return
    entry = services(context).entry(click.value)
    if entry is None:
        _gone(respond)
        return
    note = f"Shared by <@{click.user}> from `/faq`"
    respond(response_type="in_channel", replace_original=False,
            **blocks.answer_message(entry, note=note).as_kwargs())
    respond(delete_original=True)
