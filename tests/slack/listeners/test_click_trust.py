"""A click's payload is trusted only as far as Slack vouches for it.

The listeners are called directly with plain arguments: recording fakes for ``ack``,
``respond`` and the Web API client, and a real answerer on the local embedder. The payloads
are well formed except for the one field each test forges.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

import pytest
from slack_bolt import BoltContext
from slack_bolt.request import BoltRequest

from bot.config import Settings
from bot.slack import blocks
from bot.slack.app import create_app
from bot.slack.clicks import read_click
from bot.slack.listeners.actions import handle_choice, handle_share, handle_vote
from bot.slack.listeners.commands import handle_faq
from bot.slack.response_urls import ResponseUrls
from bot.slack.services import Services
from bot.storage import LocalClaims
from tests.slack.listeners.click_fakes import (
    CHANNEL,
    CHOSEN,
    LISTENERS,
    MESSAGE,
    THREAD,
    Calls,
    Listener,
    choice,
    choices_blocks,
    click,
    payload,
)
from tests.slack.listeners.conftest import FakeRecorder
from tests.standins.slack_standin import (
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    SlackStandIn,
    interaction_body,
    signed_headers,
)

# -- the control: a well-formed click -----------------------------------------------------------

def test_a_choice_is_answered_in_the_thread_of_the_bot_message(
        click_context: BoltContext, answerer: Any, fake_recorder: FakeRecorder) -> None:
    calls = click(handle_choice, choice(answerer), click_context)
    [post] = calls.posts
    assert (post["channel"], post["thread_ts"]) == (CHANNEL, THREAD)
    assert CHOSEN in str(post["blocks"])
    [logged] = fake_recorder.choices
    assert logged["chosen"] == CHOSEN
    assert logged["shown"] == ["part-b-with-part-a", CHOSEN, "sign-up"]


# -- response_url ------------------------------------------------------------------------------

FOREIGN_URLS = [
    "https://evil.example/actions/T0001/1/x",
    "http://hooks.slack.com/actions/T0001/1/x",  # not https
    "https://hooks.slack.com.evil.example/actions/x",
    "https://hooks.slack.com:8443/actions/x",
    "https://user@hooks.slack.com/actions/x",
    "https://evil.example\\@hooks.slack.com/actions/x",
    "https://evil.example#@hooks.slack.com/",
    "ftp://hooks.slack.com/actions/x",
    "//hooks.slack.com/actions/x",
    "",
    5,
    None,
]


@pytest.mark.parametrize("url", FOREIGN_URLS)
@pytest.mark.parametrize("listener", [handle_choice, handle_vote, handle_share])
def test_a_response_url_off_slack_gets_nothing(click_context: BoltContext, answerer: Any,
                                               fake_recorder: FakeRecorder, listener: Listener,
                                               url: Any) -> None:
    body = payload(LISTENERS[listener], CHOSEN, ephemeral=listener is handle_share,
                   message_blocks=choices_blocks(answerer))
    body["response_url"] = url
    calls = click(listener, body, click_context)
    assert calls.responses == calls.posts == []
    assert fake_recorder.votes == fake_recorder.choices == []


def test_slash_command_with_a_foreign_response_url_is_not_answered(
        click_context: BoltContext) -> None:
    calls = Calls()
    command = {"team_id": TEAM_ID, "channel_id": CHANNEL, "user_id": "U0ASKER",
               "text": "lost my medicare card", "trigger_id": "1.2.abc",
               "response_url": "https://evil.example/commands/1"}
    handle_faq(ack=lambda: None, command=command, respond=calls, context=click_context,
               logger=logging.getLogger("bot.slack.listeners"))
    assert calls.responses == []
    command["response_url"] = "https://hooks.slack.com/commands/T0001/1/x"
    handle_faq(ack=lambda: None, command=command, respond=calls, context=click_context,
               logger=logging.getLogger("bot.slack.listeners"))
    [reply] = calls.responses
    assert reply["response_type"] == "ephemeral"


def test_slack_api_url_sets_the_other_allowed_origin(answerer: Any) -> None:
    """GovSlack's hooks host is Slack's own; a test's stand-in is allowed through
    SLACK_API_URL, on its scheme, host and port only."""
    standin = Settings.from_env({"SLACK_API_URL": "http://127.0.0.1:8123/api/"})
    allowed = Services.for_settings(standin, answerer=answerer,
                                    deduper=LocalClaims()).response_urls
    assert allowed.allows("http://127.0.0.1:8123/response/x")
    assert allowed.allows("https://hooks.slack.com/actions/x")
    assert allowed.allows("https://hooks.slack-gov.com/actions/x")
    assert not allowed.allows("http://127.0.0.1:8124/response/x")
    assert not allowed.allows("https://127.0.0.1:8123/response/x")
    default = Services.for_settings(Settings.from_env({}), answerer=answerer,
                                    deduper=LocalClaims()).response_urls
    assert not default.allows("http://127.0.0.1:8123/response/x")


# -- where a public click's answer goes ----------------------------------------------------------

def _forge_channel(body: dict[str, Any]) -> None:
    body["channel"]["id"] = "C0ELSEWHERE"


def _forge_container(body: dict[str, Any]) -> None:
    body["container"]["channel_id"] = "C0ELSEWHERE"


def _forge_author(body: dict[str, Any]) -> None:
    body["message"].update(user="U0SOMEONE", bot_id="B0OTHER")


def _forge_message_ts(body: dict[str, Any]) -> None:
    body["message"]["ts"] = "1700000009.000900"


def _forge_thread_shape(body: dict[str, Any]) -> None:
    body["message"]["thread_ts"] = "1700000000.000100&channel=C0ELSEWHERE"


@pytest.mark.parametrize("forge", [_forge_channel, _forge_container, _forge_author,
                                   _forge_message_ts, _forge_thread_shape])
def test_a_click_that_names_another_place_is_not_answered(
        click_context: BoltContext, answerer: Any, forge: Callable[[dict[str, Any]], None]) -> None:
    body = choice(answerer)
    forge(body)
    calls = click(handle_choice, body, click_context)
    assert calls.posts == calls.responses == []


def test_a_choice_on_a_top_level_bot_message_is_answered_in_the_conversation(
        click_context: BoltContext, answerer: Any) -> None:
    body = choice(answerer)
    del body["message"]["thread_ts"]  # e.g. choices in a DM, not in a thread
    [post] = click(handle_choice, body, click_context).posts
    assert post["channel"] == CHANNEL and post.get("thread_ts") is None


# -- user ids ----------------------------------------------------------------------------------

@pytest.mark.parametrize("user", ["U0VOTER> <!channel", "<!here>", "u0voter", "", "U", 42,
                                  "U" + "0" * 200])
@pytest.mark.parametrize("listener", [handle_vote, handle_share])
def test_a_user_id_not_shaped_like_slacks_is_never_echoed(
        click_context: BoltContext, listener: Listener, user: Any) -> None:
    action = "faq_vote_up" if listener is handle_vote else "faq_share"
    body = payload(action, CHOSEN, ephemeral=True)
    body["user"]["id"] = user
    calls = click(listener, body, click_context)
    assert calls.responses == []


@pytest.mark.parametrize("user", ["U0VOTER", "W012A3CDE"])
def test_a_slack_user_id_is_echoed_in_the_vote_note(click_context: BoltContext, user: str) -> None:
    body = payload("faq_vote_down", CHOSEN, ephemeral=True)
    body["user"]["id"] = user
    [update] = click(handle_vote, body, click_context).responses
    assert f"<@{user}> found this not helpful" in update["text"]


# -- votes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("faq_id", ["no-such-faq", "x" * 5000, ""])
def test_votes_count_only_for_faqs_that_exist(click_context: BoltContext,
                                              fake_recorder: FakeRecorder,
                                              caplog: pytest.LogCaptureFixture,
                                              faq_id: str) -> None:
    caplog.set_level(logging.DEBUG)
    body = payload("faq_vote_up", faq_id)
    [reply] = click(handle_vote, body, click_context).responses
    assert "no longer in the dataset" in reply["text"]
    assert reply["replace_original"] is False
    assert fake_recorder.votes == []
    assert all(len(record.getMessage()) < 500 for record in caplog.records)


def test_a_vote_is_logged_once_with_the_checked_fields(click_context: BoltContext,
                                                       fake_recorder: FakeRecorder) -> None:
    click(handle_vote, payload("faq_vote_up", CHOSEN), click_context)
    assert fake_recorder.votes == [{"team": TEAM_ID, "channel": CHANNEL, "message_ts": MESSAGE,
                               "user": "U0VOTER", "faq_id": CHOSEN, "vote": "up"}]


def test_a_vote_rerenders_the_answer_instead_of_reposting_the_payload(
        click_context: BoltContext, answerer: Any) -> None:
    forged = [{"type": "section", "text": {"type": "mrkdwn", "text": "<!channel> forged"}}]
    body = payload("faq_vote_up", CHOSEN, message_blocks=forged)
    [update] = click(handle_vote, body, click_context).responses
    rendered = str(update["blocks"])
    assert "forged" not in rendered
    assert blocks.escape(answerer.faq.by_id(CHOSEN).answer)[:80] in rendered
    assert "found this helpful" in rendered


def test_choices_shown_are_logged_only_when_they_exist(click_context: BoltContext, answerer: Any,
                                                       fake_recorder: FakeRecorder) -> None:
    shown = choices_blocks(answerer)
    shown[1]["elements"][0]["value"] = "x" * 5000
    click(handle_choice, payload("faq_choice_1", CHOSEN, message_blocks=shown), click_context)
    [logged] = fake_recorder.choices
    assert logged["shown"] == [CHOSEN, "sign-up"]


# -- missing or mistyped fields ----------------------------------------------------------------

def _drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def drop(body: dict[str, Any]) -> None:
        target = body
        for key in path[:-1]:
            target = target[key]
        target.pop(path[-1], None)

    drop.__name__ = "drop_" + "_".join(path)
    return drop


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def put(body: dict[str, Any]) -> None:
        body[key] = value

    put.__name__ = f"set_{key}"
    return put


# Slack always sends these; without one (or with the wrong type) the click is dropped.
UNANSWERABLE = [_drop("container"), _drop("user"), _drop("team"), _drop("message"),
                _drop("container", "channel_id"), _drop("container", "message_ts"),
                _drop("message", "ts"), _set("container", "C0FAQ"), _set("message", None),
                _set("user", ["U0VOTER"]), _set("team", 5)]
# Not needed: the container names the channel, and a trigger id only helps dedupe.
SPARE = [_drop("channel"), _drop("trigger_id"), _set("channel", "C0FAQ")]


def broken(answerer: Any, listener: Listener, breaks: Callable[[dict[str, Any]], None]
           ) -> dict[str, Any]:
    body = payload(LISTENERS[listener], CHOSEN, message_blocks=choices_blocks(answerer))
    breaks(body)
    return body


@pytest.mark.parametrize("listener", LISTENERS)
@pytest.mark.parametrize("breaks", UNANSWERABLE, ids=[b.__name__ for b in UNANSWERABLE])
def test_a_click_missing_what_slack_always_sends_is_dropped_without_raising(
        click_context: BoltContext, answerer: Any, fake_recorder: FakeRecorder, listener: Listener,
        breaks: Callable[[dict[str, Any]], None]) -> None:
    calls = click(listener, broken(answerer, listener, breaks), click_context)
    assert calls.posts == calls.responses == []
    assert fake_recorder.votes == fake_recorder.choices == []


@pytest.mark.parametrize("listener", LISTENERS)
@pytest.mark.parametrize("breaks", SPARE, ids=[b.__name__ for b in SPARE])
def test_a_click_without_optional_fields_is_answered_in_the_container(
        click_context: BoltContext, answerer: Any, listener: Listener,
        breaks: Callable[[dict[str, Any]], None]) -> None:
    calls = click(listener, broken(answerer, listener, breaks), click_context)
    assert calls.posts or calls.responses
    assert all(post["channel"] == CHANNEL for post in calls.posts)


@pytest.mark.parametrize("value", [None, 7, {"id": CHOSEN}])
def test_a_button_value_that_is_not_a_string_is_an_unknown_faq(click_context: BoltContext,
                                                               value: Any) -> None:
    body = payload("faq_vote_up", CHOSEN)
    body["actions"][0]["value"] = value
    [reply] = click(handle_vote, body, click_context).responses
    assert "no longer in the dataset" in reply["text"]


# -- through Bolt: its respond() posts only where the listener lets it ---------------------------

class Inline(Executor):
    """Runs each listener at once, so dispatch returns after the listener finished."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_through_bolt_a_foreign_response_url_is_never_posted_to(answerer: Any) -> None:
    secret = "click-trust-secret"
    with SlackStandIn() as slack, SlackStandIn() as elsewhere:
        settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-test-clicks",
                                      "SLACK_SIGNING_SECRET": secret,
                                      "SLACK_API_URL": slack.api_url})
        app = create_app(settings, answerer, executor=Inline())

        def send(body: dict[str, Any]) -> int:
            raw = interaction_body(body)
            request = BoltRequest(body=raw.decode(), headers=signed_headers(raw, secret))
            return app.dispatch(request).status

        forged = copy.deepcopy(payload("faq_vote_up", CHOSEN, ephemeral=True))
        forged["response_url"] = elsewhere.response_url("forged")
        assert send(forged) == 200
        genuine = payload("faq_vote_up", CHOSEN, ephemeral=True)
        genuine["response_url"] = slack.response_url("genuine")
        assert send(genuine) == 200
        slack.wait_for("response_url:genuine")
        assert elsewhere.calls() == []


@pytest.mark.parametrize(("ephemeral", "block_id", "asked"), [
    (False, "b1", MESSAGE),  # a public reply leads back by its ts
    (True, "asked:command:7.7.abc:0a1b2c.0", "command:7.7.abc"),  # a private one by its key
    (True, "b1", ""),
    (True, "asked:command:7.7.abc:0", ""),  # not the shape keyed() writes
    (True, "asked:command:<@U1>:0", ""),
    (True, ["asked:command:7.7.abc:0a1b2c.0"], ""),
])
def test_a_click_leads_back_to_its_question_only_by_what_the_bot_wrote(
        ephemeral: bool, block_id: object, asked: str) -> None:
    body = payload("faq_vote_up", "replacement-card", ephemeral=ephemeral)
    body["actions"][0]["block_id"] = block_id
    found = read_click(body, body["actions"][0],
                       response_urls=ResponseUrls.for_api_url("https://slack.com/api/"),
                       bot_user_id=BOT_USER_ID, bot_id=BOT_ID)
    assert found is not None and found.asked == asked
