"""Questions posted with a file (``file_share``) or broadcast from a thread
(``thread_broadcast``) are routed by their text like plain messages; other subtypes are not."""

from __future__ import annotations

from typing import Any

import pytest
from slack_bolt.request import BoltRequest

from bot.config import Settings
from bot.faq.answerer import Answerer
from bot.slack.app import create_app
from bot.slack.routing import Route, RouteKind, route_mention, route_message
from tests.standins.slack_standin import SlackStandIn, event_body, signed_headers

BOT = "U0BOT"
SECRET = "subtype-test-secret"
FILE = {"id": "F1", "name": "screenshot.png", "mimetype": "image/png", "filetype": "png"}


def file_share(**fields: Any) -> dict[str, Any]:
    """As Slack sends a message with an uploaded screenshot: the caption is the text."""
    return {"type": "message", "subtype": "file_share", "channel": "C1", "user": "U1",
            "text": "how do I get a new card?", "ts": "200.000001", "channel_type": "channel",
            "files": [FILE], "upload": False, "display_as_bot": False, **fields}


def broadcast(**fields: Any) -> dict[str, Any]:
    """A thread reply also sent to the channel: its own ts, the parent's thread_ts."""
    return {"type": "message", "subtype": "thread_broadcast", "channel": "C1", "user": "U1",
            "text": "how do I get a new card?", "ts": "300.000002", "thread_ts": "300.000001",
            "root": {"ts": "300.000001", "user": "U2", "text": "hi"},
            "channel_type": "channel", **fields}


def test_a_question_with_a_file_is_routed_like_a_plain_message() -> None:
    assert route_message(file_share(), bot_user_id=BOT) == Route(
        kind=RouteKind.CHANNEL, channel="C1", ts="200.000001", thread_ts="200.000001",
        text="how do I get a new card?", user="U1")
    dm = route_message(file_share(channel="D1", channel_type="im"), bot_user_id=BOT)
    assert dm is not None and (dm.kind, dm.thread_ts) == (RouteKind.DM, None)
    mentioned = route_message(file_share(text=f"<@{BOT}> card?"), bot_user_id=BOT)
    assert mentioned is not None and mentioned.kind == RouteKind.MENTION
    assert route_mention(file_share(type="app_mention", text=f"<@{BOT}> card?"),
                         bot_user_id=BOT) is not None
    # Shared into a thread without a mention: a thread reply, so still silent.
    assert route_message(file_share(thread_ts="199.000001"), bot_user_id=BOT) is None


def test_a_thread_broadcast_is_answered_in_its_thread() -> None:
    routed = route_message(broadcast(), bot_user_id=BOT)
    assert routed == Route(kind=RouteKind.CHANNEL, channel="C1", ts="300.000002",
                           thread_ts="300.000001", text="how do I get a new card?", user="U1")
    listed = route_message(broadcast(channel="C9"), bot_user_id=BOT, faq_channels={"C1"})
    assert listed is None  # FAQ_CHANNELS still applies to un-mentioned messages
    mentioned = route_message(broadcast(text=f"<@{BOT}> card?"), bot_user_id=BOT)
    assert mentioned is not None and (mentioned.kind, mentioned.thread_ts) == (
        RouteKind.MENTION, "300.000001")


@pytest.mark.parametrize("subtype", [
    "bot_message", "me_message", "message_changed", "message_deleted", "message_replied",
    "channel_join", "channel_leave", "channel_topic", "channel_purpose", "pinned_item",
    "file_comment", "reminder_add", "huddle_thread", "tombstone",
])
def test_other_subtypes_are_still_ignored(subtype: str) -> None:
    assert route_message(file_share(subtype=subtype), bot_user_id=BOT) is None
    assert route_message(broadcast(subtype=subtype), bot_user_id=BOT) is None
    assert route_mention(file_share(subtype=subtype, text=f"<@{BOT}> hi"),
                         bot_user_id=BOT) is None


def test_file_share_and_broadcast_from_bots_or_edited_are_ignored() -> None:
    for event in (file_share, broadcast):
        assert route_message(event(bot_id="B9"), bot_user_id=BOT) is None
        assert route_message(event(user=BOT), bot_user_id=BOT) is None
        assert route_message(event(edited={"user": "U1", "ts": "1.0"}), bot_user_id=BOT) is None


def test_the_app_answers_a_screenshot_question_and_a_broadcast(
        slack_standin: SlackStandIn, answerer: Answerer) -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-subtypes", "SLACK_SIGNING_SECRET":
                                  SECRET, "SLACK_API_URL": slack_standin.api_url})
    app = create_app(settings, answerer)
    for event in (file_share(text="how do I get a new medicare card?"),
                  broadcast(text="how do I get a new medicare card?")):
        body = event_body(event)
        request = BoltRequest(body=body.decode(), headers=signed_headers(body, SECRET))
        assert app.dispatch(request).status == 200
    replies = slack_standin.wait_for("chat.postMessage", count=2, timeout=10)
    assert sorted(r.params["thread_ts"] for r in replies) == ["200.000001", "300.000001"]
