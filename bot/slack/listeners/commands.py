"""``/faq <question>``: ack at once, then answer privately through the response_url.

A command Slack delivers again carries the same trigger id, unique per invocation; claiming
it, like a message's ts, answers each command once across processes. A private reply has no
ts, so ``command:<trigger id>`` stands in for one: the log keeps it as the reply's, and the
reply's buttons carry it (``blocks.keyed``), so the asker's pick teaches as in a channel.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.slack import blocks
from bot.slack.ids import COMMAND_KEY, TEAM_OR_CHANNEL, TRIGGER, shaped
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
    team, trigger_id = command.get("team_id"), command.get("trigger_id")
    if not (shaped(team, TEAM_OR_CHANNEL) and shaped(trigger_id, TRIGGER)):
        logger.warning("ignored a /faq command: its team_id or trigger_id is missing or not "
                       "shaped like Slack's")
        return
    if not faq.deduper.claim(team, "command", trigger_id):
        logger.info("a /faq command (trigger %s) was answered already: not again", trigger_id)
        return

    key = f"{COMMAND_KEY}{trigger_id}"

    def post(message: blocks.Message) -> str:
        respond(response_type="ephemeral", text=message.text,
                blocks=blocks.keyed(message.blocks, key))
        return key

    asked = Asked(team=team, channel=str(command.get("channel_id", "")),
                  ts=key,
                  user=str(command.get("user_id", "")), text=command.get("text") or "",
                  asked_directly=True, via_command=True)
    answer(asked, faq, post, logger)
    faq.deduper.complete(team, "command", trigger_id)  # a retry after a crash answers it
