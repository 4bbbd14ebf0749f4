"""Clicks and commands reply once: a choice clicked ten times is posted once per (message,
FAQ), and a click or ``/faq`` that Slack delivers again is not answered again, also when the
retry reaches another process on the same database.

First the listeners, called directly (recording fakes, real answerer); then two real
``faqbot serve`` processes sharing one SQLite database, driven by signed requests.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from slack_bolt import BoltContext

from bot.slack.listeners.actions import handle_choice, handle_share, handle_vote
from bot.slack.listeners.commands import handle_faq
from tests.conftest import server_env
from tests.slack.listeners.click_fakes import (
    CHANNEL,
    CHOSEN,
    LISTENERS,
    THREAD,
    Calls,
    Listener,
    choices_blocks,
    click,
    payload,
)
from tests.slack.listeners.conftest import FakeRecorder
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    Call,
    SlackStandIn,
    command_body,
    event_body,
    interaction_body,
    send_signed,
)

ALREADY = "already posted above"


def pick(answerer: Any, faq_id: str = CHOSEN, **options: Any) -> dict[str, Any]:
    shown = choices_blocks(answerer)
    [button] = [e for b in shown if b["type"] == "actions" for e in b["elements"]
                if e["value"] == faq_id]
    return payload(button["action_id"], faq_id, message_blocks=shown, **options)


# -- the listeners -----------------------------------------------------------------------------

def test_ten_clicks_on_a_choice_post_it_once(click_context: BoltContext, answerer: Any) -> None:
    results = [click(handle_choice, pick(answerer), click_context) for _ in range(10)]
    posts = [post for calls in results for post in calls.posts]
    assert len(posts) == 1 and (posts[0]["channel"], posts[0]["thread_ts"]) == (CHANNEL, THREAD)
    repeats = [reply for calls in results for reply in calls.responses]
    assert len(repeats) == 9
    for reply in repeats:
        assert ALREADY in reply["text"]
        assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False


def test_another_faq_or_another_message_is_posted_too(click_context: BoltContext,
                                                      answerer: Any) -> None:
    first = click(handle_choice, pick(answerer), click_context)
    other_faq = click(handle_choice, pick(answerer, "sign-up"), click_context)
    other_message = click(handle_choice, pick(answerer, message_ts="1700000005.000500"),
                          click_context)
    assert [len(c.posts) for c in (first, other_faq, other_message)] == [1, 1, 1]
    assert [c.responses for c in (first, other_faq, other_message)] == [[], [], []]


def test_a_choice_on_a_private_message_may_be_clicked_again(click_context: BoltContext,
                                                            answerer: Any) -> None:
    """In /faq's ephemeral reply a click replaces the message in place: nothing to repeat."""
    results = [click(handle_choice, pick(answerer, ephemeral=True), click_context)
               for _ in range(2)]
    assert [len(calls.responses) for calls in results] == [1, 1]
    assert all(r["replace_original"] is True for calls in results for r in calls.responses)


@pytest.mark.parametrize("listener", LISTENERS)
def test_a_redelivered_click_is_handled_once(click_context: BoltContext, answerer: Any,
                                             fake_recorder: FakeRecorder,
                                             listener: Listener) -> None:
    body = payload(LISTENERS[listener], CHOSEN, ephemeral=listener is handle_share,
                   message_blocks=choices_blocks(answerer))
    first = click(listener, body, click_context)
    again = click(listener, copy.deepcopy(body), click_context)
    assert first.posts or first.responses
    assert again.posts == again.responses == []
    assert len(fake_recorder.votes) == (listener is handle_vote)
    assert len(fake_recorder.choices) == (listener is handle_choice)


def test_sharing_the_same_private_answer_twice_posts_it_once(click_context: BoltContext) -> None:
    first, second = (click(handle_share, payload("faq_share", CHOSEN, ephemeral=True),
                           click_context) for _ in range(2))
    assert [r.get("response_type") for r in first.responses] == ["in_channel", None]
    [told] = second.responses
    assert ALREADY in told["text"] and told["response_type"] == "ephemeral"


def faq_command(trigger_id: str) -> dict[str, Any]:
    return {"team_id": TEAM_ID, "channel_id": CHANNEL, "user_id": "U0ASKER",
            "text": "lost my medicare card", "trigger_id": trigger_id,
            "response_url": "https://hooks.slack.com/commands/T0001/1/x"}


def run_faq(command: dict[str, Any], click_context: BoltContext) -> Calls:
    calls = Calls()
    handle_faq(ack=lambda: None, command=command, respond=calls, context=click_context,
               logger=logging.getLogger("bot.slack.listeners"))
    return calls


def test_a_redelivered_faq_command_is_answered_once(click_context: BoltContext) -> None:
    first = run_faq(faq_command("7.7.abc"), click_context)
    again = run_faq(faq_command("7.7.abc"), click_context)
    other = run_faq(faq_command("7.8.abc"), click_context)
    assert [len(c.responses) for c in (first, again, other)] == [1, 0, 1]


@pytest.mark.parametrize("trigger_id", ["", "x" * 5000, "1.2 <!channel>", None])
def test_a_faq_command_without_a_slack_trigger_id_is_not_answered(click_context: BoltContext,
                                                                  trigger_id: Any) -> None:
    """Slack sends one with every command; a key without it could not be deduplicated."""
    command = faq_command("1.1.a")
    command["trigger_id"] = trigger_id
    assert run_faq(command, click_context).responses == []


# -- two real servers on one database ----------------------------------------------------------

SECRET = secrets.token_hex(16)
FAQ_CHANNEL = "CONCE"
_stamps = itertools.count(1)


def new_ts() -> str:
    n = next(_stamps)
    return f"{1_800_100_000 + n}.{n:06d}"


@pytest.fixture(scope="module")
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as fake:
        yield fake


@pytest.fixture(scope="module")
def servers(standin: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    where = tmp_path_factory.mktemp("once")
    env = server_env(standin, token="xoxb-test-once", secret=SECRET, FAQ_CHANNELS=FAQ_CHANNEL,
                     DATABASE_URL=f"sqlite:///{where / 'shared.sqlite3'}")
    with ServerProcess(env, cwd=str(where)) as a, ServerProcess(env, cwd=str(where)) as b:
        a.wait_healthy()
        b.wait_healthy()
        yield a, b


def in_thread(ts: str):
    return lambda call: call.params.get("thread_ts") == ts


def choices_posted(server: ServerProcess, standin: SlackStandIn) -> tuple[str, Call]:
    """Ask the bot a question that gets three choices (asked directly: a top-level message
    would get silence); the question's ts and the bot's reply."""
    ts = new_ts()
    event = {"type": "message", "channel": FAQ_CHANNEL, "user": "U1",
             "text": f"<@{BOT_USER_ID}> medicare part b",
             "ts": ts, "channel_type": "channel"}
    assert send_signed(server.events_url, event_body(event), SECRET)[0] == 200
    [reply] = standin.wait_for("chat.postMessage", where=in_thread(ts), timeout=10)
    return ts, reply


def choice_click(reply: Call, thread_ts: str, response_url: str) -> bytes:
    """A click on the bot's second choice, as Slack sends it; a fresh trigger id each time."""
    [button] = [e for b in reply.params["blocks"] if b["type"] == "actions"
                for e in b["elements"] if e["action_id"] == "faq_choice_1"]
    message_ts = reply.response["ts"]
    return interaction_body({
        "type": "block_actions", "api_app_id": APP_ID,
        "trigger_id": f"{secrets.randbelow(10**9)}.1.{secrets.token_hex(4)}",
        "user": {"id": "U2", "team_id": TEAM_ID}, "team": {"id": TEAM_ID},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": FAQ_CHANNEL,
                      "is_ephemeral": False},
        "channel": {"id": FAQ_CHANNEL}, "response_url": response_url,
        "message": {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": message_ts,
                    "thread_ts": thread_ts, "blocks": reply.params["blocks"], "text": "…"},
        "actions": [{**button, "block_id": "b1", "action_ts": new_ts()}]})


def test_ten_clicks_across_two_processes_post_the_answer_once(
        servers: tuple[ServerProcess, ServerProcess], standin: SlackStandIn) -> None:
    thread_ts, choices = choices_posted(servers[0], standin)
    url = standin.response_url("ten")
    for n in range(10):
        body = choice_click(choices, thread_ts, url)
        assert send_signed(servers[n % 2].events_url, body, SECRET)[0] == 200
    told = standin.wait_for("response_url:ten", 9, timeout=20)  # each repeat click, privately
    [_choices, answer] = standin.wait_for("chat.postMessage", 2, where=in_thread(thread_ts))
    assert all(ALREADY in call.params["text"] for call in told)
    assert answer.params["channel"] == FAQ_CHANNEL
    assert len(standin.calls("response_url:ten")) == 9


def test_a_click_redelivered_to_the_other_process_is_not_answered_again(
        servers: tuple[ServerProcess, ServerProcess], standin: SlackStandIn) -> None:
    thread_ts, choices = choices_posted(servers[0], standin)
    body = choice_click(choices, thread_ts, standin.response_url("replayed"))
    assert send_signed(servers[0].events_url, body, SECRET)[0] == 200
    standin.wait_for("chat.postMessage", 2, where=in_thread(thread_ts))
    assert send_signed(servers[1].events_url, body, SECRET, retry_num=1)[0] == 200
    message_ts = choices.response["ts"]
    servers[1].wait_for_line(f"click on message {message_ts} .* handled already", timeout=10)
    assert len([c for c in standin.calls("chat.postMessage") if in_thread(thread_ts)(c)]) == 2
    assert standin.calls("response_url:replayed") == []  # not even "already posted above"


def test_a_slash_command_redelivered_to_the_other_process_is_answered_once(
        servers: tuple[ServerProcess, ServerProcess], standin: SlackStandIn) -> None:
    trigger = f"{secrets.randbelow(10**9)}.2.{secrets.token_hex(6)}"
    body = command_body("lost my medicare card", response_url=standin.response_url("cmd"),
                        channel_id=FAQ_CHANNEL, trigger_id=trigger)
    assert send_signed(servers[0].events_url, body, SECRET)[0] == 200
    [reply] = standin.wait_for("response_url:cmd")
    assert reply.params["response_type"] == "ephemeral"
    assert send_signed(servers[1].events_url, body, SECRET, retry_num=1)[0] == 200
    servers[1].wait_for_line(f"/faq command .*{trigger}.* answered already", timeout=10)
    assert len(standin.calls("response_url:cmd")) == 1
    fresh = parse_qs(body.decode())
    fresh["trigger_id"] = [f"{trigger}x"]
    again = urlencode({k: v[0] for k, v in fresh.items()}).encode()
    assert send_signed(servers[1].events_url, again, SECRET)[0] == 200  # a new command: answered
    assert json.dumps(standin.wait_for("response_url:cmd", 2)[1].params["blocks"])
