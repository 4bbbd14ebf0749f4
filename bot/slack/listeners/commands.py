"""``/faq <question>``: ack at once, then answer privately through the response_url."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.slack import blocks
from bot.slack.reply import Asked, answer
from bot.slack.services import services

COMMAND = "/faq"


def register(app: App) -> None:
    app.command(COMMAND)(handle_faq)


def handle_faq(ack: Ack, command: dict[str, Any], respond: Respond, context: BoltContext,
               logger: logging.Logger) -> None:
    ack()
    faq = services(context)
    if not faq.response_urls.allows(command.get("response_url")):
        logger.warning("ignored a /faq command: response_url is not one of Slack's")
        return

    def post(message: blocks.Message) -> None:
        respond(response_type="ephemeral", **message.as_kwargs())

    # A slash command has no message ts; its trigger id is unique per invocation.
    asked = Asked(team=str(command.get("team_id", "")), channel=str(command.get("channel_id", "")),
                  ts=f"command:{command.get('trigger_id', '')}",
                  user=str(command.get("user_id", "")), text=command.get("text") or "",
                  asked_directly=True, via_command=True)
    answer(asked, faq, post, logger)
