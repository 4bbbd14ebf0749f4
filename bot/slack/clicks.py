"""A button click, read from its payload only as far as Slack vouches for it: on a message
(``read_click``) or on the App Home (``read_home_click``).

What Slack guarantees about a ``block_actions`` payload is the container: the message that
was clicked (channel and ts) and its response URL. Everything else is checked against it:
the ``channel`` must be the container's, the ``message`` must be the bot's own one at the
container's ts, ids and timestamps must have Slack's shape, and the response URL must be
Slack's. A click that fails is logged (without its values) and dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.slack.blocks import ASKED_BLOCK_PREFIX
from bot.slack.ids import COMMAND_KEY, TEAM_OR_CHANNEL, TRIGGER, TS, USER, shaped
from bot.slack.response_urls import ResponseUrls

log = logging.getLogger(__name__)

# The key a private /faq reply's block ids carry (``blocks.keyed``): the command's trigger.
_ASKED_BLOCK = re.compile(
    rf"{ASKED_BLOCK_PREFIX}({COMMAND_KEY}{TRIGGER.pattern}):[0-9a-f]{{6}}\.[0-9]{{1,3}}",
    re.ASCII)


class _Refused(Exception):
    """Why a click is dropped; the reason names a field, never its value."""


@dataclass(frozen=True, kw_only=True)
class Click:
    team: str
    user: str  # safe inside <@…>
    channel: str
    message_ts: str  # "" for an ephemeral message Slack sent without one
    thread_ts: str | None  # where a public answer goes; None: in the conversation itself
    ephemeral: bool
    trigger_id: str  # "" when absent; unique per click when present
    value: str  # the button's value, unchecked: an FAQ id only if the FAQ has it
    # What leads back to the question the clicked reply answered: the message's ts, or in a
    # private /faq reply the key its block id carries; "" when there is neither.
    asked: str = ""

    def where(self) -> dict[str, str]:
        """The fields every feedback row carries; a private reply's is its key, so its votes
        and choices are tied to the question as a public reply's are."""
        return {"team": self.team, "channel": self.channel,
                "message_ts": self.asked or self.message_ts, "user": self.user}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _shaped(value: object, shape: re.Pattern[str], field: str) -> str:
    if shaped(value, shape):
        return value
    raise _Refused(f"{field} is missing or not shaped like Slack's")


def _thread(message: Mapping[str, Any], message_ts: str, bot_user_id: str,
            bot_id: str) -> str | None:
    """The thread of the bot's own message at ``message_ts``, checked for consistency."""
    mine = ((bot_user_id and message.get("user") == bot_user_id)
            or (bot_id and message.get("bot_id") == bot_id))
    if not mine:
        raise _Refused("the message is not the bot's")
    if message.get("ts") != message_ts:
        raise _Refused("message.ts is not the container's")
    thread_ts = message.get("thread_ts")
    return None if thread_ts is None else _shaped(thread_ts, TS, "message.thread_ts")


def _read(body: Mapping[str, Any], action: Mapping[str, Any], response_urls: ResponseUrls,
          bot_user_id: str, bot_id: str) -> Click:
    if not response_urls.allows(body.get("response_url")):
        raise _Refused("response_url is not one of Slack's")
    container = _mapping(body.get("container"))
    if container.get("type") != "message":
        raise _Refused("the container is not a message")
    channel = _shaped(container.get("channel_id"), TEAM_OR_CHANNEL, "container.channel_id")
    named = _mapping(body.get("channel")).get("id")
    if named is not None and named != channel:
        raise _Refused("channel.id is not the container's")
    ephemeral = container.get("is_ephemeral") is True
    message_ts = container.get("message_ts")
    thread_ts = None
    if not ephemeral:
        message_ts = _shaped(message_ts, TS, "container.message_ts")
        thread_ts = _thread(_mapping(body.get("message")), message_ts, bot_user_id, bot_id)
    elif message_ts is not None:
        message_ts = _shaped(message_ts, TS, "container.message_ts")
    trigger_id = body.get("trigger_id")
    value = action.get("value")
    asked = _asked_key(action.get("block_id")) if ephemeral else message_ts
    return Click(team=_shaped(_mapping(body.get("team")).get("id"), TEAM_OR_CHANNEL, "team.id"),
                 user=_shaped(_mapping(body.get("user")).get("id"), USER, "user.id"),
                 channel=channel, message_ts=message_ts or "", thread_ts=thread_ts,
                 ephemeral=ephemeral,
                 trigger_id="" if trigger_id is None else _shaped(trigger_id, TRIGGER,
                                                                  "trigger_id"),
                 value=value if isinstance(value, str) else "", asked=asked)


def _asked_key(block_id: object) -> str:
    """The key a private reply's block id carries, if it has exactly the shape ``keyed``
    writes; "" otherwise."""
    keyed = _ASKED_BLOCK.fullmatch(block_id) if isinstance(block_id, str) else None
    return keyed.group(1) if keyed else ""


def read_click(body: Mapping[str, Any], action: Mapping[str, Any], *,
               response_urls: ResponseUrls, bot_user_id: str, bot_id: str) -> Click | None:
    """The click, or None (logged) if the payload is not one Slack would send."""
    try:
        return _read(body, action, response_urls, bot_user_id, bot_id)
    except _Refused as reason:
        log.warning("ignored a click: %s", reason)
        return None


@dataclass(frozen=True, kw_only=True)
class HomeClick:
    """A click on a button of the App Home: no message, no response URL, only who clicked."""

    team: str
    user: str  # safe inside <@…>
    trigger_id: str  # unique per click; a redelivery repeats it
    value: str  # the button's value, unchecked


def from_home(body: Mapping[str, Any]) -> bool:
    """True for a click on a view (the App Home), not on a message: Bolt's matcher for the
    buttons both carry."""
    return _mapping(body.get("container")).get("type") == "view"


def read_home_click(body: Mapping[str, Any], action: Mapping[str, Any]) -> HomeClick | None:
    """The App Home click, or None (logged) if it isn't one Slack would send: on a view of
    type ``home``, with a team, a user and a trigger id shaped like Slack's."""
    try:
        if not from_home(body) or _mapping(body.get("view")).get("type") != "home":
            raise _Refused("the container is not the App Home")
        value = action.get("value")
        return HomeClick(team=_shaped(_mapping(body.get("team")).get("id"), TEAM_OR_CHANNEL,
                                      "team.id"),
                         user=_shaped(_mapping(body.get("user")).get("id"), USER, "user.id"),
                         trigger_id=_shaped(body.get("trigger_id"), TRIGGER, "trigger_id"),
                         value=value if isinstance(value, str) else "")
    except _Refused as reason:
        log.warning("ignored an App Home click: %s", reason)
        return None
