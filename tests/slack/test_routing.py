"""Listener filters: which messages are answered, how, and where the reply goes."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.routing import Route, RouteKind, route_mention, route_message

BOT = "U0BOT"


def event(**fields: Any) -> dict[str, Any]:
    base = {"type": "message", "channel": "C1", "user": "U1", "text": "how do I x?",
            "ts": "100.000001", "channel_type": "channel"}
    return {**base, **fields}


def route(**fields: Any) -> Route | None:
    return route_message(event(**fields), bot_user_id=BOT)


def test_top_level_channel_message_is_answered_in_its_thread() -> None:
    assert route() == Route(kind=RouteKind.CHANNEL, channel="C1", ts="100.000001",
                           thread_ts="100.000001", text="how do I x?", user="U1")
    assert not route().asked_directly  # type: ignore[union-attr]


def test_mention_is_answered_in_the_thread_it_came_from() -> None:
    top = route(text=f"<@{BOT}> how?")
    assert top is not None and (top.kind, top.thread_ts) == (RouteKind.MENTION, "100.000001")
    nested = route(text=f"<@{BOT}|faqbot> how?", thread_ts="99.000001")
    assert nested is not None
    assert (nested.kind, nested.thread_ts) == (RouteKind.MENTION, "99.000001")
    assert nested.asked_directly


def test_thread_replies_without_a_mention_are_ignored() -> None:
    assert route(thread_ts="99.000001") is None
    assert route(thread_ts="100.000001") is not None  # a thread's parent is top-level


def test_dm_is_answered_in_the_conversation_or_its_thread() -> None:
    dm = route(channel="D1", channel_type="im")
    assert dm is not None and (dm.kind, dm.thread_ts) == (RouteKind.DM, None)
    threaded = route(channel="D1", channel_type="im", thread_ts="99.000001")
    assert threaded is not None
    assert (threaded.kind, threaded.thread_ts) == (RouteKind.DM, "99.000001")


@pytest.mark.parametrize("fields", [
    {"user": BOT},  # ourselves
    {"bot_id": "B9"},  # another bot, with a user id
    {"subtype": "bot_message", "user": None, "bot_id": "B9"},
    {"subtype": "message_changed"},
    {"subtype": "message_deleted"},
    {"subtype": "channel_join"},
    {"edited": {"user": "U1", "ts": "101.0"}},
    {"user": None},
    {"channel": None},
    {"ts": None},
])
def test_ignored_messages(fields: dict[str, Any]) -> None:
    assert route(**fields) is None
    assert route(channel_type="im", **fields) is None
    assert route(text=f"<@{BOT}> hi", **fields) is None


def test_faq_channels_limit_unmentioned_messages_only() -> None:
    listed = frozenset({"C1"})
    assert route_message(event(), bot_user_id=BOT, faq_channels=listed) is not None
    other = event(channel="C2")
    assert route_message(other, bot_user_id=BOT, faq_channels=listed) is None
    mentioned = event(channel="C2", text=f"<@{BOT}> hi")
    assert route_message(mentioned, bot_user_id=BOT, faq_channels=listed) is not None
    dm = event(channel="D2", channel_type="im")
    assert route_message(dm, bot_user_id=BOT, faq_channels=listed) is not None


def test_app_mention_routes_like_its_message_twin() -> None:
    mention = event(type="app_mention", text=f"<@{BOT}> how?")
    mention.pop("channel_type")
    twin = route(text=f"<@{BOT}> how?")
    assert route_mention(mention, bot_user_id=BOT) == twin
    assert route_mention({**mention, "bot_id": "B9"}, bot_user_id=BOT) is None


def test_a_group_dm_is_answered_only_when_the_bot_is_mentioned() -> None:
    from bot.slack.routing import route_message

    event = {"type": "message", "channel": "G0EXPERTS", "channel_type": "mpim", "user": "U1",
             "text": "how do I reset my password?", "ts": "1700000000.000100"}
    assert route_message(event, bot_user_id="U0BOT") is None
    asked = {**event, "text": "<@U0BOT> how do I reset my password?"}
    assert route_message(asked, bot_user_id="U0BOT") is not None
