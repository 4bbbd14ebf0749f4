"""Which messages get a reply, and where: the behaviour rules of docs/architecture.md as pure
functions.

A ``Route`` says how to answer (``kind``), which message it answers (``channel``/``ts``, the
dedupe key) and where the reply goes (``thread_ts``; None means the conversation itself).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.slack.text import mentions


class RouteKind(StrEnum):
    CHANNEL = "channel"  # un-mentioned top-level message: reply only when an FAQ matches
    MENTION = "mention"  # always reply, in the message's thread
    DM = "dm"  # always reply, in the conversation (in a thread only if the DM was in one)

# Subtypes that are still a person asking in the conversation: a message with a file (the
# caption is the question, e.g. a pasted screenshot), and a thread reply also sent to the
# channel. Every other subtype (edits, joins, bots, topics…) is not a question.
FILE_SHARE = "file_share"
THREAD_BROADCAST = "thread_broadcast"
ROUTED_SUBTYPES = frozenset({FILE_SHARE, THREAD_BROADCAST})


@dataclass(frozen=True, kw_only=True)
class Route:
    kind: RouteKind
    channel: str
    ts: str
    thread_ts: str | None
    text: str
    user: str = ""

    @property
    def asked_directly(self) -> bool:
        """Mentions and DMs always get an answer, even "nothing found" or an apology."""
        return self.kind != RouteKind.CHANNEL


def _from_a_person(event: Mapping[str, Any], bot_user_id: str) -> bool:
    """User messages only (plain, with a file, or broadcast from a thread): no bots (ours or
    others'), edits, deletions, joins or other subtypes, and nothing without the fields a
    reply needs."""
    return not (
        (event.get("subtype") and event.get("subtype") not in ROUTED_SUBTYPES)
        or event.get("bot_id")
        or event.get("edited")
        or not event.get("user")
        or event.get("user") == bot_user_id
        or not event.get("channel")
        or not event.get("ts")
    )


def _mention_route(event: Mapping[str, Any]) -> Route:
    ts = str(event["ts"])
    return Route(kind=RouteKind.MENTION, channel=str(event["channel"]), ts=ts,
                 thread_ts=str(event.get("thread_ts") or ts), text=str(event.get("text") or ""),
                 user=str(event["user"]))


def route_message(event: Mapping[str, Any], *, bot_user_id: str,
                  faq_channels: Collection[str] = ()) -> Route | None:
    """Route a ``message`` event; None means stay silent without looking at the FAQ."""
    if not _from_a_person(event, bot_user_id):
        return None
    channel, ts, text = str(event["channel"]), str(event["ts"]), str(event.get("text") or "")
    thread_ts, user = event.get("thread_ts"), str(event["user"])
    if event.get("channel_type") == "im":
        return Route(kind=RouteKind.DM, channel=channel, ts=ts,
                     thread_ts=str(thread_ts) if thread_ts else None, text=text, user=user)
    if mentions(text, bot_user_id):
        return _mention_route(event)
    if event.get("channel_type") == "mpim":
        return None  # a group DM (experts talking over an escalation): only mentions
    broadcast = event.get("subtype") == THREAD_BROADCAST
    if thread_ts and thread_ts != ts and not broadcast:
        return None  # a thread reply that doesn't mention the bot
    if faq_channels and channel not in faq_channels:
        return None
    # A broadcast is seen in the channel but belongs to its thread: the answer goes there.
    return Route(kind=RouteKind.CHANNEL, channel=channel, ts=ts,
                 thread_ts=str(thread_ts) if broadcast and thread_ts else ts, text=text,
                 user=user)


def route_mention(event: Mapping[str, Any], *, bot_user_id: str) -> Route | None:
    """Route an ``app_mention`` event: the same message as its ``message`` twin, if any."""
    if not _from_a_person(event, bot_user_id):
        return None
    return _mention_route(event)
