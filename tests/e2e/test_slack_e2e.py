"""End to end: the real ``faqbot serve --port 0`` subprocess, driven by requests signed the way
Slack signs them, replying to the recording Slack stand-in. The whole module runs twice: with
the local embedder, and with ``EMBEDDING_BACKEND=api`` against the Inference API stand-in.
One server per run (loading the FAQ takes ~2 s); every test uses fresh message timestamps,
so tests don't see each other's replies. "No reply" is asserted after a control message that
does get one has been answered.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import server_env
from tests.e2e.conftest import (
    CARD_QUESTION,
    FAQ_CHANNEL,
    HF_TOKEN,
    OTHER_CHANNEL,
    SECRET,
    TOKEN,
    action_payload,
    answered_once,
    asked,
    assert_no_secrets,
    click_reply,
    deliver,
    in_thread,
    mention,
    message,
    new_ts,
    posts_for,
)
from tests.standins.inference_standin import Fault, InferenceStandIn
from tests.standins.server_process import ServerProcess, http_status
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


@dataclass
class Booted:
    server: ServerProcess
    health: list[int]  # /healthz statuses seen while starting
    startup_calls: list[Call]  # Web API calls made before the first event
    inference: InferenceStandIn | None  # the embedding API, when the backend is "api"


@pytest.fixture(scope="module", params=["local", "api"])
def booted(request: pytest.FixtureRequest, slack: SlackStandIn,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    env = server_env(slack, token=TOKEN, secret=SECRET, EMBEDDING_BACKEND=request.param,
                     FAQ_CHANNELS=f"{FAQ_CHANNEL},CFAQ2")
    with contextlib.ExitStack() as stack:
        inference = None
        if request.param == "api":
            embedder = request.getfixturevalue("embedder")
            inference = stack.enter_context(InferenceStandIn(embedder.embed, token=HF_TOKEN))
            env |= {"HF_TOKEN": HF_TOKEN, "INFERENCE_API_URL": inference.hf_url}
        process = stack.enter_context(
            ServerProcess(env, cwd=str(tmp_path_factory.mktemp("serve"))))
        health = process.wait_healthy()
        yield Booted(process, health, slack.calls(), inference)


@pytest.fixture
def server(booted: Booted) -> ServerProcess:
    return booted.server


@pytest.fixture(autouse=True)
def _clean_faults(slack: SlackStandIn) -> Iterator[None]:
    yield
    slack.reset()


@pytest.fixture(autouse=True)
def _no_secrets_in_the_log(booted: Booted) -> Iterator[None]:
    """After every test, whatever runs before or after it: the server's log so far holds no
    credential. A leak fails the test that caused it."""
    yield
    assert_no_secrets(booted.server.log)


# -- helpers ------------------------------------------------------------------------------------

def settle(server: ServerProcess, slack: SlackStandIn, channel: str = FAQ_CHANNEL) -> None:
    """Send a question that is answered and wait for its reply: events delivered before it
    have been handled by then (they were acked first and queued first)."""
    control = message(CARD_QUESTION, channel=channel)
    assert deliver(server, control) == 200
    answered_once(slack, control["ts"])


def faq_ids(call: Call) -> list[str]:
    return [e["value"] for b in call.params["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


def slash(server: ServerProcess, slack: SlackStandIn, text: str, name: str
          ) -> tuple[int, bytes, float, Call]:
    body = command_body(text, response_url=slack.response_url(name), channel_id=FAQ_CHANNEL)
    started = time.monotonic()
    status, _, content = send_signed(server.events_url, body, SECRET)
    acked = time.monotonic() - started
    [call] = slack.wait_for(f"response_url:{name}")
    return status, content, acked, call


# -- startup ------------------------------------------------------------------------------------

def test_healthz_is_503_while_loading_then_200(booted: Booted) -> None:
    assert booted.health[0] == 503 and booted.health[-1] == 200
    assert http_status(f"{booted.server.base_url}/healthz") == 200


def test_startup_calls_auth_test_once_with_the_bot_token(booted: Booted) -> None:
    assert [c.method for c in booted.startup_calls] == ["auth.test"]
    assert booted.startup_calls[0].token == TOKEN
    assert "ready: 13 FAQs" in booted.server.log


# -- channel messages ---------------------------------------------------------------------------

def test_channel_question_gets_one_threaded_answer(server: ServerProcess,
                                                   slack: SlackStandIn) -> None:
    event = message("how do I get a new medicare card?")
    assert deliver(server, event) == 200
    reply = answered_once(slack, event["ts"])
    assert reply.token == TOKEN
    assert [c.method for c in slack.calls()] == ["chat.postMessage"]  # no auth.test per event
    assert reply.params["channel"] == FAQ_CHANNEL
    assert faq_ids(reply) == ["replacement-card", "replacement-card"]  # 👍 and 👎
    rendered = json.dumps(reply.params["blocks"])
    assert CARD_QUESTION in rendered
    assert "https://www.medicare.gov/basics/get-started-with-medicare/using-medicare" in rendered
    settle(server, slack)
    assert len(posts_for(slack, event["ts"])) == 1


def test_off_topic_chatter_gets_no_reply(server: ServerProcess, slack: SlackStandIn) -> None:
    chatter = [message(text) for text in ("lol see you at lunch", "thanks!",
                                          "how do I enroll in the company 401k?")]
    for event in chatter:
        assert deliver(server, event) == 200
    settle(server, slack)
    assert all(posts_for(slack, e["ts"]) == [] for e in chatter)


def test_close_matches_asked_get_three_choices_and_a_click_answers_in_thread(
        server: ServerProcess, slack: SlackStandIn) -> None:
    event = message(f"<@{BOT_USER_ID}> medicare part b")
    deliver(server, event)
    choices = answered_once(slack, event["ts"])
    ids = faq_ids(choices)
    assert len(ids) == 3
    body = action_payload(choices.params["blocks"], "faq_choice_1",
                          response_url=slack.response_url("choice"),
                          message_ts=new_ts(), thread_ts=event["ts"])
    status, _, _ = send_signed(server.events_url, body, SECRET)
    assert status == 200
    [_choices, second] = slack.wait_for("chat.postMessage", 2, where=in_thread(event["ts"]))
    assert faq_ids(second) == [ids[1], ids[1]]
    assert second.params["channel"] == FAQ_CHANNEL


def test_a_top_level_message_is_answered_only_when_the_channel_point_is_sure(
        server: ServerProcess, slack: SlackStandIn) -> None:
    """Unprompted, the strict channel point: one sure answer or silence. The same questions
    asked directly get the direct point: an answer, or choices."""
    unsure = [message("medicare part b"), message("how much is the part b premium?")]
    sure = message("what does medicare part b cost per month?")
    for event in (*unsure, sure):
        assert deliver(server, event) == 200
    assert faq_ids(answered_once(slack, sure["ts"]))[0] == "part-b-premium"
    settle(server, slack)
    assert all(posts_for(slack, e["ts"]) == [] for e in unsure)
    asked = [mention(e["text"]) for e in unsure]
    for event in asked:
        assert deliver(server, event) == 200
    choices, answer = (answered_once(slack, e["ts"]) for e in asked)
    assert len(faq_ids(choices)) == 3 and faq_ids(answer)[0] == "part-b-premium"


def test_unlisted_channel_needs_a_mention(server: ServerProcess, slack: SlackStandIn) -> None:
    quiet = message(CARD_QUESTION, channel=OTHER_CHANNEL)
    deliver(server, quiet)
    asked = mention(CARD_QUESTION, channel=OTHER_CHANNEL)
    deliver(server, asked)
    answered_once(slack, asked["ts"])
    settle(server, slack)
    assert posts_for(slack, quiet["ts"]) == []


# -- mentions, threads and DMs ------------------------------------------------------------------

def test_message_and_app_mention_pair_and_retries_get_one_reply(
        server: ServerProcess, slack: SlackStandIn) -> None:
    ts = new_ts()
    as_message = message(f"<@{BOT_USER_ID}> how do I sign up for medicare?", ts=ts)
    as_mention = mention("how do I sign up for medicare?", ts=ts)
    assert deliver(server, as_message) == 200
    assert deliver(server, as_mention) == 200
    assert deliver(server, as_mention, retry_num=1) == 200
    assert deliver(server, as_message, retry_num=2, retry_reason="http_error") == 200
    reply = answered_once(slack, ts)
    assert faq_ids(reply)[0] == "sign-up"
    settle(server, slack)
    assert len(posts_for(slack, ts)) == 1


def test_retried_delivery_of_a_channel_question_gets_one_reply(
        server: ServerProcess, slack: SlackStandIn) -> None:
    body = event_body(message("what does medicare part b cost per month?"))
    ts = json.loads(body)["event"]["ts"]
    assert send_signed(server.events_url, body, SECRET)[0] == 200
    assert send_signed(server.events_url, body, SECRET, retry_num=1)[0] == 200
    answered_once(slack, ts)
    settle(server, slack)
    assert len(posts_for(slack, ts)) == 1


def test_mention_without_a_match_says_so_and_points_to_faq(
        server: ServerProcess, slack: SlackStandIn) -> None:
    event = mention("what's for lunch today?")
    deliver(server, event)
    reply = answered_once(slack, event["ts"])
    assert "couldn't find" in reply.params["text"]
    assert "/faq" in reply.params["text"]


def test_thread_replies_need_a_mention(server: ServerProcess, slack: SlackStandIn) -> None:
    parent = new_ts()
    unmentioned = message(CARD_QUESTION, thread_ts=parent)
    mentioned = message(f"<@{BOT_USER_ID}> {CARD_QUESTION}", thread_ts=parent)
    deliver(server, unmentioned)
    deliver(server, mentioned)
    reply = answered_once(slack, parent)  # the mention is answered in the same thread
    assert faq_ids(reply)[0] == "replacement-card"
    settle(server, slack)
    assert len(posts_for(slack, parent)) == 1


def test_bots_edits_deletions_and_joins_are_ignored(server: ServerProcess,
                                                    slack: SlackStandIn) -> None:
    ignored = [
        message(CARD_QUESTION, user=BOT_USER_ID, bot_id=BOT_ID),  # our own message
        message(CARD_QUESTION, user="U9", bot_id="B9"),  # another bot
        message(CARD_QUESTION, subtype="bot_message", bot_id="B9", user=None),
        message(CARD_QUESTION, subtype="message_changed",
                message={"type": "message", "user": "U1", "text": CARD_QUESTION}),
        message("", subtype="message_deleted"),
        message("<@U1> has joined the channel", subtype="channel_join"),
        mention(CARD_QUESTION, user="U9", bot_id="B9"),  # a bot mentioning us
    ]
    for event in ignored:
        assert deliver(server, event) == 200
    settle(server, slack)
    for event in ignored:
        assert posts_for(slack, event["ts"]) == [], event


def test_dm_is_answered_in_the_conversation(server: ServerProcess,
                                            slack: SlackStandIn) -> None:
    dm = message("what does medicare part b cost per month?", channel="D0DM1",
                 channel_type="im")
    deliver(server, dm)
    [reply] = slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == "D0DM1")
    assert "thread_ts" not in reply.params
    assert faq_ids(reply)[0] == "part-b-premium"
    chatter = message("hello there", channel="D0DM2", channel_type="im")
    deliver(server, chatter)  # a DM is always answered, even when nothing matches
    [nothing] = slack.wait_for("chat.postMessage",
                                 where=lambda c: c.params["channel"] == "D0DM2")
    assert "couldn't find" in nothing.params["text"]


def test_dm_in_a_thread_is_answered_in_that_thread(server: ServerProcess,
                                                   slack: SlackStandIn) -> None:
    parent = new_ts()
    deliver(server, message(CARD_QUESTION, channel="D0DM3", channel_type="im", thread_ts=parent))
    assert answered_once(slack, parent).params["channel"] == "D0DM3"


# -- /faq ---------------------------------------------------------------------------------------

def test_slash_command_acks_at_once_and_answers_privately(
        server: ServerProcess, slack: SlackStandIn) -> None:
    status, content, acked, call = slash(server, slack, "lost my medicare card", "cmd1")
    assert status == 200 and content == b""
    assert acked < 2.5  # Slack's deadline is 3 s
    assert call.params["response_type"] == "ephemeral"
    assert faq_ids(call) == ["replacement-card"] * 3  # 👍, 👎 and "Share in channel"
    assert "Share in channel" in json.dumps(call.params["blocks"], ensure_ascii=False)


@pytest.mark.parametrize("text", ["", "help", "  HELP "])
def test_slash_command_without_a_question_shows_help(
        server: ServerProcess, slack: SlackStandIn, text: str) -> None:
    name = f"help{secrets.token_hex(4)}"
    status, _, _, call = slash(server, slack, text, name)
    assert status == 200
    rendered = json.dumps(call.params["blocks"])
    assert call.params["response_type"] == "ephemeral"
    assert "/faq" in rendered
    examples = re.findall(r"\\u2022 `/faq ([^`]+)`", rendered)
    assert len(examples) == 3 and CARD_QUESTION in examples


def test_share_button_posts_the_answer_in_channel(server: ServerProcess,
                                                  slack: SlackStandIn) -> None:
    _, _, _, answer = slash(server, slack, "lost my medicare card", "cmd2")
    url = slack.response_url("share")
    status, _, _ = send_signed(server.events_url,
                               action_payload(answer.params["blocks"], "faq_share",
                                              response_url=url), SECRET)
    assert status == 200
    shared, deleted = slack.wait_for("response_url:share", 2)
    assert shared.params["response_type"] == "in_channel"
    assert faq_ids(shared) == ["replacement-card"] * 2  # votes, no share button
    assert "Shared by <@U2>" in json.dumps(shared.params["blocks"])
    assert deleted.params["delete_original"] is True


def test_vote_updates_the_message_so_the_voter_sees_it(server: ServerProcess,
                                                       slack: SlackStandIn) -> None:
    event, reply = asked(server, slack, CARD_QUESTION)
    assert click_reply(server, reply, "faq_vote_down", response_url=slack.response_url("vote"),
                       thread_ts=event["ts"]) == 200
    [update] = slack.wait_for("response_url:vote")
    assert update.params["replace_original"] is True
    rendered = json.dumps(update.params["blocks"], ensure_ascii=False)
    assert "<@U2> found this not helpful 👎" in rendered
    assert faq_ids(update) == ["replacement-card"] * 2  # others can still vote


def test_vote_on_a_private_answer_keeps_it_shareable(server: ServerProcess,
                                                     slack: SlackStandIn) -> None:
    _, _, _, answer = slash(server, slack, "lost my medicare card", "cmd3")
    url = slack.response_url("vote2")
    body = action_payload(answer.params["blocks"], "faq_vote_up", response_url=url)
    assert send_signed(server.events_url, body, SECRET)[0] == 200
    [update] = slack.wait_for("response_url:vote2")
    rendered = json.dumps(update.params["blocks"], ensure_ascii=False)
    assert "found this helpful 👍" in rendered and "Share in channel" in rendered


# -- the HTTP edge ------------------------------------------------------------------------------

def test_url_verification_echoes_the_challenge(server: ServerProcess) -> None:
    body = json.dumps({"token": "unused", "challenge": "c-123", "type": "url_verification"})
    status, _, content = send_signed(server.events_url, body, SECRET)
    assert status == 200 and json.loads(content) == {"challenge": "c-123"}


def test_bad_signature_or_stale_timestamp_is_401_and_not_answered(
        server: ServerProcess, slack: SlackStandIn) -> None:
    forged, stale = message(CARD_QUESTION), message(CARD_QUESTION)
    assert send_signed(server.events_url, event_body(forged), "not-the-secret")[0] == 401
    six_minutes_ago = int(time.time()) - 360
    assert send_signed(server.events_url, event_body(stale), SECRET,
                       timestamp=six_minutes_ago)[0] == 401
    settle(server, slack)
    assert posts_for(slack, forged["ts"]) == posts_for(slack, stale["ts"]) == []


def test_ignored_event_types_get_200_not_404(server: ServerProcess) -> None:
    reaction = {"type": "reaction_added", "user": "U1", "reaction": "thumbsup",
                "item": {"type": "message", "channel": FAQ_CHANNEL, "ts": new_ts()},
                "event_ts": new_ts()}
    assert deliver(server, reaction) == 200
    unknown_button = interaction_body({
        "type": "block_actions", "user": {"id": "U1"}, "team": {"id": TEAM_ID},
        "api_app_id": APP_ID, "actions": [{"action_id": "somebody_elses_button",
                                            "block_id": "x", "type": "button", "value": "1"}]})
    assert send_signed(server.events_url, unknown_button, SECRET)[0] == 200


@pytest.mark.parametrize("body", [
    b"{not json", b'{"type": "event_callback", "event": ', b"\xff\xfe\x00garbage",
    b"payload=%7Bnot-json", b"payload=%5B1%2C2%5D", b'{"type": "block_actions", "team": 5}',
    b'{"type": "block_actions", "actions": []}', b'{"type": "event_callback", "event": null}',
])
def test_malformed_bodies_are_refused_with_400(server: ServerProcess, slack: SlackStandIn,
                                              body: bytes) -> None:
    """Not UTF-8, not JSON, or JSON of the wrong shape: a signed body Bolt can't read is a
    400 (a 5xx would make Slack retry it), and nothing else happens."""
    status, _, content = send_signed(server.events_url, body, SECRET)
    assert (status, content) == (400, b"malformed body")
    settle(server, slack)  # and the server keeps serving


def test_oversized_bodies_are_refused_before_reading(server: ServerProcess,
                                                     slack: SlackStandIn) -> None:
    megabyte = event_body(message("x" * (1024 * 1024)))
    status, _, _ = send_signed(server.events_url, megabyte, SECRET)
    assert status == 413
    form = b"payload=" + b"x" * (1024 * 1024)
    assert send_signed(server.events_url, form, SECRET)[0] == 413
    settle(server, slack)


def test_unknown_paths_and_methods(server: ServerProcess) -> None:
    assert http_status(f"{server.base_url}/") == 404
    assert http_status(server.events_url) == 405


# -- Slack Web API faults -----------------------------------------------------------------------

def test_rate_limited_reply_is_retried_after_retry_after(server: ServerProcess,
                                                         slack: SlackStandIn) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    event = message(CARD_QUESTION)
    deliver(server, event)
    reply = answered_once(slack, event["ts"])
    rejected, delivered = [c for c in slack.calls("chat.postMessage", include_rejected=True)
                           if in_thread(event["ts"])(c)]
    assert rejected.rejected and rejected.status == 429
    assert delivered is reply
    assert reply.time - rejected.time >= 1.0


def test_other_web_api_errors_are_logged_and_the_bot_keeps_serving(
        server: ServerProcess, slack: SlackStandIn) -> None:
    slack.set_response("chat.postMessage", {"ok": False, "error": "channel_not_found"})
    event = message(CARD_QUESTION)
    deliver(server, event)
    slack.wait_for("chat.postMessage", where=in_thread(event["ts"]))
    server.wait_for_line("chat.postMessage failed: channel_not_found", timeout=5)
    slack.reset()
    settle(server, slack)


# -- logs (the autouse _no_secrets_in_the_log checks them after every test, too) -----------------

def test_logs_never_contain_the_token_or_the_signing_secret(server: ServerProcess) -> None:
    log = server.log
    assert "ready:" in log
    assert_no_secrets(log)


def test_embedding_outage_is_silent_in_channels_and_apologises_when_asked(
        booted: Booted, slack: SlackStandIn) -> None:
    """After retries fail: a channel question gets silence and a log line; a mention gets a
    short apology; nothing is replied twice; the next question works once the API is back."""
    if booted.inference is None:
        pytest.skip("the local embedder has no service to lose")
    server, api = booted.server, booted.inference
    unavailable = Fault.status(401, {"error": "Invalid credentials in Authorization header"})
    api.queue(unavailable)
    quiet = message(f"how do I replace my medicare card {secrets.token_hex(4)}?")
    assert deliver(server, quiet) == 200
    api.queue(unavailable)
    asked = mention(f"how do I replace my medicare card {secrets.token_hex(4)}?")
    assert deliver(server, asked) == 200
    assert deliver(server, {**asked, "type": "message", "channel_type": "channel"}) == 200
    apology = answered_once(slack, asked["ts"])
    assert "can't reach the embedding service" in apology.params["text"]
    back = message(f"how do I get a replacement medicare card {secrets.token_hex(4)}?")
    assert deliver(server, back) == 200
    assert "replacement-card" in faq_ids(answered_once(slack, back["ts"]))
    assert posts_for(slack, quiet["ts"]) == []
    assert len(posts_for(slack, asked["ts"])) == 1
    server.wait_for_line("embedding service failed", timeout=5)
    assert api.pending_faults == 0

