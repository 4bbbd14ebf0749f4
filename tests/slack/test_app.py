"""The Bolt app in-process: requests signed like Slack's, dispatched straight into
``create_app``'s app, replies landing in the Slack stand-in. These cover what the end-to-end
module can't drive from outside: an embedding service that fails, a listener that crashes,
and Bolt acking before the listener runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from bot.config import Settings
from bot.errors import EmbeddingServiceError, UserError
from bot.faq.answerer import Answerer
from bot.slack.app import create_app
from tests.conftest import REVOKED_TOKEN
from tests.standins.slack_standin import (
    APP_ID,
    BOT_USER_ID,
    TEAM_ID,
    HeldReply,
    SlackStandIn,
    command_body,
    event_body,
    interaction_body,
    signed_headers,
)

TOKEN = "xoxb-test-listeners"
SECRET = "listener-test-secret"
DOWN = "embedding-down"  # questions containing this find the embedding service down
CRASH = "kaboom"  # questions containing this hit a bug


class FlakyEmbedder:
    """The real local embedder, except for questions that name a failure."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.model_id = real.model_id

    @property
    def dim(self) -> int:
        return self.real.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if any(DOWN in t for t in texts):
            raise EmbeddingServiceError("the inference API answered 503 three times",
                                        "wait, or set EMBEDDING_BACKEND=local")
        if any(CRASH in t for t in texts):
            raise RuntimeError("a bug in the embedder")
        return self.real.embed(texts)


@pytest.fixture(scope="module")
def flaky_answerer(answerer: Answerer) -> Answerer:
    """The real answerer, on an embedder that fails for the questions that say so."""
    return Answerer(faq=answerer.faq, embedder=FlakyEmbedder(answerer.embedder),
                    min_score=answerer.min_score, margin=answerer.margin)


def settings(slack_standin: SlackStandIn, token: str = TOKEN) -> Settings:
    return Settings.from_env({"SLACK_BOT_TOKEN": token, "SLACK_SIGNING_SECRET": SECRET,
                              "SLACK_API_URL": slack_standin.api_url, "EMBEDDING_BACKEND": "local"})


@pytest.fixture
def app(slack_standin: SlackStandIn, flaky_answerer: Answerer) -> App:
    return create_app(settings(slack_standin), flaky_answerer)


def dispatch(app: App, body: bytes) -> int:
    text = body.decode()
    return app.dispatch(BoltRequest(body=text, headers=signed_headers(body, SECRET))).status


def channel_message(text: str, ts: str, **extra: Any) -> bytes:
    return event_body({"type": "message", "channel": "C1", "user": "U1", "text": text, "ts": ts,
                       "channel_type": "channel", **extra})


def test_create_app_calls_auth_test_once_through_slack_api_url(app: App,
                                                               slack_standin: SlackStandIn) -> None:
    [auth] = slack_standin.calls()
    assert (auth.method, auth.token) == ("auth.test", TOKEN)
    assert dispatch(app, channel_message("how do I get a new medicare card?", "1.1")) == 200
    slack_standin.wait_for("chat.postMessage")
    assert [c.method for c in slack_standin.calls()] == ["auth.test", "chat.postMessage"]


def test_rejected_or_unreachable_slack_stops_startup(
        slack_standin: SlackStandIn, answerer: Answerer, closed_port: int) -> None:
    with pytest.raises(UserError) as rejected:
        create_app(settings(slack_standin, token=REVOKED_TOKEN), answerer)
    assert "SLACK_BOT_TOKEN" in rejected.value.problem and "invalid_auth" in rejected.value.problem
    assert REVOKED_TOKEN not in rejected.value.one_line()
    closed = f"http://127.0.0.1:{closed_port}/api/"
    unreachable = Settings.from_env({"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": closed})
    with pytest.raises(UserError, match="cannot reach the Slack API"):
        create_app(unreachable, answerer, client=WebClient(token=TOKEN, base_url=closed,
                                                           retry_handlers=[]))


def test_events_are_acked_before_the_listener_finishes(app: App,
                                                       slack_standin: SlackStandIn) -> None:
    """process_before_response=False: Bolt answers Slack first, then runs the listener."""
    slow_slack = HeldReply("9.9", hold=10)
    slack_standin.set_response("chat.postMessage", slow_slack)
    try:
        assert dispatch(app, channel_message("how do I get a new medicare card?", "1.2")) == 200
        assert slow_slack.reached.wait(10)  # the reply is in flight; Slack already has its 200
    finally:
        slow_slack.release.set()
    slack_standin.wait_for("chat.postMessage")


class LogWatch(logging.Handler):
    """Lets a test wait for a log record from a listener thread instead of guessing."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []
        self.arrived = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.arrived.set()


@pytest.fixture
def watch() -> Iterator[LogWatch]:
    handler = LogWatch(logging.WARNING)
    logger = logging.getLogger("bot.slack")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_embedding_outage_is_silent_in_channels_but_logged(
        app: App, slack_standin: SlackStandIn, watch: LogWatch) -> None:
    dispatch(app, channel_message(f"medicare card {DOWN}", "2.1"))
    assert watch.arrived.wait(10)
    dispatch(app, channel_message("how do I get a new medicare card?", "2.2"))
    slack_standin.wait_for("chat.postMessage")
    assert [c.params["thread_ts"] for c in slack_standin.calls("chat.postMessage")] == ["2.2"]
    [warning] = watch.records
    assert "embedding service failed" in warning.getMessage()
    assert "the inference API answered 503 three times" in warning.getMessage()


@pytest.mark.parametrize(("text", "extra", "thread_ts"), [
    (f"<@{BOT_USER_ID}> medicare card {DOWN}", {}, "3.1"),  # mention: in its thread
    (f"medicare card {DOWN}", {"channel": "D1", "channel_type": "im"}, None),  # DM: in place
])
def test_embedding_outage_gets_an_apology_when_asked_directly(
        app: App, slack_standin: SlackStandIn, text: str, extra: dict[str, Any],
        thread_ts: str | None) -> None:
    dispatch(app, channel_message(text, "3.1", **extra))
    [reply] = slack_standin.wait_for("chat.postMessage")
    assert reply.params.get("thread_ts") == thread_ts
    assert reply.params["text"] == ("I can't reach the embedding service right now, "
                                    "please try again in a minute.")


def test_embedding_outage_gets_an_apology_for_faq(app: App, slack_standin: SlackStandIn) -> None:
    body = command_body(f"medicare card {DOWN}", response_url=slack_standin.response_url("c"))
    assert dispatch(app, body) == 200
    [reply] = slack_standin.wait_for("response_url:c")
    assert reply.params["response_type"] == "ephemeral"
    assert "can't reach the embedding service" in reply.params["text"]


def test_a_crashing_listener_is_logged_with_traceback_and_serving_goes_on(
        app: App, slack_standin: SlackStandIn, watch: LogWatch) -> None:
    dispatch(app, channel_message(f"<@{BOT_USER_ID}> {CRASH}", "4.1"))
    assert watch.arrived.wait(10)
    dispatch(app, channel_message(f"<@{BOT_USER_ID}> {CRASH}", "4.1"))  # Slack's retry
    dispatch(app, channel_message("how do I get a new medicare card?", "4.2"))
    slack_standin.wait_for("chat.postMessage")
    assert [c.params["thread_ts"] for c in slack_standin.calls("chat.postMessage")] == ["4.2"]
    [failure] = watch.records  # the retry was not run again: no second failure, no reply
    assert failure.exc_info is not None and failure.exc_info[0] is RuntimeError
    assert "failed to handle a Slack request" in failure.getMessage()


def test_a_button_for_a_removed_faq_says_so(app: App, slack_standin: SlackStandIn) -> None:
    payload = {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": TEAM_ID},
               "api_app_id": APP_ID, "response_url": slack_standin.response_url("gone"),
               "container": {"type": "message", "is_ephemeral": True, "channel_id": "C1"},
               "channel": {"id": "C1"},
               "actions": [{"action_id": "faq_choice_0", "value": "no-such-faq",
                            "type": "button", "block_id": "b"}]}
    assert dispatch(app, interaction_body(payload)) == 200
    [reply] = slack_standin.wait_for("response_url:gone")
    assert "no longer in the dataset" in reply.params["text"]
    assert reply.params["replace_original"] is False  # the buttons stay for another try
