"""Tests of the Slack stand-in itself, so end-to-end failures point at the bot, not the fake."""

from __future__ import annotations

import json
import threading
import types
import urllib.request
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.conftest import REVOKED_TOKEN
from tests.standins.slack_standin import (
    SlackStandIn,
    command_body,
    event_body,
    interaction_body,
    signed_headers,
)

TOKEN = "xoxb-test"
SECRET = "test-signing-secret"


def client(slack_standin: SlackStandIn, token: str = TOKEN, **kwargs: object) -> WebClient:
    return WebClient(token=token, base_url=slack_standin.api_url, timeout=5, **kwargs)  # type: ignore[arg-type]


def test_binds_loopback_only(slack_standin: SlackStandIn) -> None:
    assert slack_standin.api_url.startswith("http://127.0.0.1:")
    assert slack_standin.api_url.endswith("/api/")
    assert slack_standin.port > 0


def test_auth_test_and_post_message_are_recorded(slack_standin: SlackStandIn) -> None:
    web = client(slack_standin)
    auth = web.auth_test()
    assert auth["user_id"] == "U0BOT"
    assert auth["bot_id"] == "B0BOT"
    assert auth["team_id"] == "T0001"

    first = web.chat_postMessage(channel="C1", text="hello", thread_ts="1699999999.000001")
    second = web.chat_postMessage(channel="C1", text="again")
    assert first["channel"] == "C1"
    assert first["message"]["thread_ts"] == "1699999999.000001"
    assert first["message"]["text"] == "hello"
    assert float(first["ts"]) < float(second["ts"])
    assert len(first["ts"].split(".")[1]) == 6

    [auth_call] = slack_standin.calls("auth.test")
    assert auth_call.token == TOKEN
    calls = slack_standin.wait_for("chat.postMessage", count=2)
    assert calls[0].params == {"channel": "C1", "text": "hello", "thread_ts": "1699999999.000001"}
    assert calls[0].headers["content-type"].startswith("application/json")
    assert calls[0].time <= calls[1].time
    assert TOKEN not in repr(calls[0])


def test_form_body_json_fields_are_decoded(slack_standin: SlackStandIn) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    web = client(slack_standin)
    resp = web.api_call(
        "chat.postEphemeral",
        params={"channel": "C1", "user": "U1", "text": "hi", "blocks": json.dumps(blocks)},
    )
    assert resp["message_ts"]
    [call] = slack_standin.calls("chat.postEphemeral")
    assert call.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert call.params["blocks"] == blocks
    assert call.params["user"] == "U1"


def test_update_and_other_methods(slack_standin: SlackStandIn) -> None:
    web = client(slack_standin)
    posted = web.chat_postMessage(channel="C1", text="thinking…")
    updated = web.chat_update(channel="C1", ts=posted["ts"], text="answer")
    assert (updated["channel"], updated["ts"], updated["text"]) == ("C1", posted["ts"], "answer")
    assert web.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")["ok"]
    assert [c.method for c in slack_standin.calls()] == [
        "chat.postMessage",
        "chat.update",
        "reactions.add",
    ]


def test_auth_errors(slack_standin: SlackStandIn) -> None:
    req = urllib.request.Request(slack_standin.api_url + "auth.test", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert json.load(resp) == {"ok": False, "error": "not_authed"}
    with pytest.raises(SlackApiError) as err:
        client(slack_standin, token=REVOKED_TOKEN).auth_test()
    assert err.value.response["error"] == "invalid_auth"


def test_apps_connections_open_takes_app_tokens_only() -> None:
    """As Slack answers Socket Mode's first call: a URL for an app-level token, refusals
    naming the cause otherwise (what ``faqbot check`` reports)."""
    with SlackStandIn(invalid_token="xapp-revoked") as slack:
        opened = client(slack).apps_connections_open(app_token="xapp-1-good")
        assert opened["url"].startswith("wss://")
        assert slack.calls("apps.connections.open")[0].token == "xapp-1-good"
        for token, error in [("xapp-revoked", "invalid_auth"),
                             (TOKEN, "not_allowed_token_type")]:
            with pytest.raises(SlackApiError) as refused:
                client(slack).apps_connections_open(app_token=token)
            assert refused.value.response["error"] == error


def test_rate_limit_then_retry_delivers_once(
    slack_standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Record the handler's back-off instead of really sleeping 1-2 s; proves Retry-After is read.
    slept: list[float] = []
    monkeypatch.setattr(builtin_handlers, "time", types.SimpleNamespace(sleep=slept.append))
    slack_standin.fail_next("chat.postMessage", status=429, retry_after=1)
    web = client(slack_standin, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])

    resp = web.chat_postMessage(channel="C1", text="hi")

    assert resp["ok"]
    assert len(slept) == 1 and 1 <= slept[0] < 2
    assert len(slack_standin.wait_for("chat.postMessage")) == 1
    everything = slack_standin.calls("chat.postMessage", include_rejected=True)
    assert [c.rejected for c in everything] == [True, False]
    assert everything[0].status == 429
    assert everything[0].response == {"ok": False, "error": "ratelimited"}


def test_server_error_fault(slack_standin: SlackStandIn) -> None:
    slack_standin.fail_next("chat.postMessage", status=500, times=2)
    web = client(slack_standin, retry_handlers=[])
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            web.chat_postMessage(channel="C1", text="hi")
        assert err.value.response.status_code == 500
    assert web.chat_postMessage(channel="C1", text="hi")["ok"]
    assert len(slack_standin.calls("chat.postMessage", include_rejected=True)) == 3


def test_response_url_posts_are_recorded(slack_standin: SlackStandIn) -> None:
    url = slack_standin.response_url("cmd1")
    assert url.startswith("http://127.0.0.1:")
    resp = WebhookClient(url).send(text="working on it", response_type="ephemeral")
    assert resp.status_code == 200
    [call] = slack_standin.wait_for("response_url:cmd1")
    assert call.params == {"text": "working on it", "response_type": "ephemeral"}


def test_wait_for_blocks_until_call_and_times_out_with_summary(slack_standin: SlackStandIn) -> None:
    worker = threading.Thread(
        target=lambda: client(slack_standin).chat_postMessage(channel="C9", text="x")
    )
    worker.start()
    [call] = slack_standin.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == "C9")
    worker.join()
    assert call.params["text"] == "x"

    with pytest.raises(AssertionError) as err:
        slack_standin.wait_for("chat.update", timeout=0.05)
    message = str(err.value)
    assert "chat.postMessage" in message
    assert TOKEN not in message

    slack_standin.reset()
    assert slack_standin.calls() == []


def test_signed_headers_verify_with_slack_sdk() -> None:
    body = event_body({"type": "app_mention", "text": "<@U0BOT> hi", "channel": "C1"})
    headers = signed_headers(body, SECRET)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)
    assert not SignatureVerifier(SECRET).is_valid_request(body + b" ", headers)
    assert headers["Content-Type"] == "application/json"

    fixed = signed_headers(body.decode(), SECRET, timestamp=1_700_000_000, retry_num=1)
    clock = types.SimpleNamespace(now=lambda: 1_700_000_010)
    assert SignatureVerifier(SECRET, clock=clock).is_valid_request(body, fixed)  # type: ignore[arg-type]
    assert fixed["X-Slack-Request-Timestamp"] == "1700000000"
    assert fixed["X-Slack-Retry-Num"] == "1"
    assert fixed["X-Slack-Retry-Reason"] == "http_timeout"


def test_payload_builders() -> None:
    envelope = json.loads(event_body({"type": "message", "text": "hi"}, event_id="Ev1"))
    assert envelope["type"] == "event_callback"
    assert envelope["event_id"] == "Ev1"
    assert envelope["authorizations"][0].items() >= {"team_id": "T0001", "user_id": "U0BOT"}.items()
    assert envelope["authorizations"][0]["is_bot"] is True

    form = parse_qs(command_body("how do I", response_url="http://127.0.0.1:1/response/x").decode())
    assert form["command"] == ["/faq"]
    assert form["text"] == ["how do I"]
    assert form["trigger_id"][0]
    assert signed_headers(b"a=b", SECRET)["Content-Type"] == "application/x-www-form-urlencoded"

    action = {"type": "block_actions", "actions": [{"action_id": "helpful"}]}
    assert json.loads(parse_qs(interaction_body(action).decode())["payload"][0]) == action
