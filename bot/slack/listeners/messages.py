"""Channel messages, @mentions and DMs: route, claim once, answer, post.

Bolt acks events before these run (process_before_response=False), so the time spent
embedding never counts against Slack's 3-second deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.slack import blocks
from bot.slack.listeners import escalations
from bot.slack.reply import Asked, answer
from bot.slack.routing import Route, route_mention, route_message
from bot.slack.services import Services, services
from bot.slack.text import mentions


def register(app: App) -> None:
    app.event("message")(handle_message)
    app.event("app_mention")(handle_mention)


def handle_message(event: dict[str, Any], body: dict[str, Any], context: BoltContext,
                   client: WebClient, logger: logging.Logger) -> None:
    faq = services(context)
    bot_user_id = context.bot_user_id or ""
    if (escalations.record_reply(event, _team(body, event), faq, client,
                                 bot_user_id=bot_user_id)
            and not mentions(str(event.get("text") or ""), bot_user_id)):
        return  # people talking over an escalated question: not a question for the bot
    route = route_message(event, bot_user_id=bot_user_id, faq_channels=faq.faq_channels)
    if route is not None:
        reply(route, _team(body, event), faq, client, logger)


def handle_mention(event: dict[str, Any], body: dict[str, Any], context: BoltContext,
                   client: WebClient, logger: logging.Logger) -> None:
    route = route_mention(event, bot_user_id=context.bot_user_id or "")
    if route is not None:
        reply(route, _team(body, event), services(context), client, logger)


def _team(body: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    return str(body.get("team_id") or event.get("team") or "")


def reply(route: Route, team: str, faq: Services, client: WebClient,
          logger: logging.Logger) -> None:
    """Post at most one reply to the routed message, whichever delivery of it comes first."""
    if not faq.deduper.claim(team, route.channel, route.ts):
        return

    def post(message: blocks.Message) -> str | None:
        response = client.chat_postMessage(channel=route.channel, thread_ts=route.thread_ts,
                                           **message.as_kwargs())
        ts = response.get("ts")
        return ts if isinstance(ts, str) else None

    asked = Asked(team=team, channel=route.channel, ts=route.ts, user=route.user,
                  text=route.text, asked_directly=route.asked_directly)
    answer(asked, faq, post, logger)
    # Only now: if the process dies before this, Slack's retry takes the claim again.
    faq.deduper.complete(team, route.channel, route.ts)
