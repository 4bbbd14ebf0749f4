"""What the end-to-end suites share: the credentials the servers run with, and the events,
clicks and waits that drive a real ``faqbot serve`` subprocess from outside.

Each test uses fresh message timestamps (``new_ts``), so tests on one server don't see each
other's replies.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.storage import schema
from tests.conftest import clean_env, run_cli, server_env, table_rows, wait_until
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    Call,
    SlackStandIn,
    event_body,
    interaction_body,
    send_signed,
)

TOKEN = f"xoxb-test-{secrets.token_hex(12)}"
HF_TOKEN = f"hf_test{secrets.token_hex(12)}"
SECRET = secrets.token_hex(16)
FAQ_CHANNEL = "CFAQ"  # listed in FAQ_CHANNELS
OTHER_CHANNEL = "COTHER"  # not listed: answers only when mentioned
CARD_QUESTION = "How do I get a replacement Medicare card?"

_stamps = itertools.count(1)


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    """One Slack stand-in for a module's server, which lives as long as the module."""
    with SlackStandIn() as fake:
        yield fake


def new_ts() -> str:
    n = next(_stamps)
    return f"{1_800_000_000 + n}.{n:06d}"


def assert_no_secrets(log: str) -> None:
    """No credential the servers run with appears in a server's log, whole or without its
    prefix."""
    assert TOKEN not in log and SECRET not in log
    assert TOKEN.removeprefix("xoxb-") not in log
    assert HF_TOKEN not in log


def message(text: str, *, channel: str = FAQ_CHANNEL, ts: str | None = None,
            **extra: Any) -> dict[str, Any]:
    ts = ts or new_ts()
    event = {"type": "message", "channel": channel, "user": "U1", "text": text, "ts": ts,
             "event_ts": ts, "channel_type": "channel", "team": TEAM_ID}
    return {**event, **extra}


def mention(text: str, *, channel: str = FAQ_CHANNEL, ts: str | None = None,
            **extra: Any) -> dict[str, Any]:
    event = message(f"<@{BOT_USER_ID}> {text}", channel=channel, ts=ts, **extra)
    event["type"] = "app_mention"
    event.pop("channel_type")
    return event


def deliver(server: ServerProcess, event: dict[str, Any], **headers: Any) -> int:
    status, _, _ = send_signed(server.events_url, event_body(event), SECRET, **headers)
    return status


def in_thread(ts: str):
    return lambda call: call.params.get("thread_ts") == ts


def posts_for(standin: SlackStandIn, ts: str) -> list[Call]:
    return [c for c in standin.calls("chat.postMessage") if in_thread(ts)(c)]


def answered_once(standin: SlackStandIn, ts: str) -> Call:
    [reply] = standin.wait_for("chat.postMessage", where=in_thread(ts))
    return reply


def asked(server: ServerProcess, standin: SlackStandIn, text: str) -> tuple[dict[str, Any], Call]:
    """Ask ``text`` in the FAQ channel; the question's event and the bot's one threaded reply."""
    event = message(text)
    assert deliver(server, event) == 200
    return event, answered_once(standin, event["ts"])


def click_reply(server: ServerProcess, reply: Call, action_id: str, *, response_url: str,
                thread_ts: str, user: str = "U2") -> int:
    """``user`` clicks ``action_id`` on the bot's threaded ``reply``, signed as Slack sends
    it; the status the server answered."""
    body = action_payload(reply.params["blocks"], action_id, response_url=response_url,
                          message_ts=reply.response["ts"], thread_ts=thread_ts, user=user)
    status, _, _ = send_signed(server.events_url, body, SECRET)
    return status


def action_payload(call_blocks: list[dict[str, Any]], action_id: str, *, response_url: str,
                   message_ts: str | None = None, thread_ts: str | None = None,
                   channel: str = FAQ_CHANNEL, user: str = "U2") -> bytes:
    """A block_actions click by ``user`` on the button ``action_id`` in ``call_blocks``."""
    [(block_id, button)] = [(b.get("block_id", "b1"), e) for b in call_blocks
                            if b["type"] == "actions" for e in b["elements"]
                            if e["action_id"] == action_id]
    ephemeral = message_ts is None
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "voter", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "team": {"id": TEAM_ID, "domain": "acme"},
        "container": {"type": "message", "message_ts": message_ts or new_ts(),
                      "channel_id": channel, "is_ephemeral": ephemeral},
        "channel": {"id": channel, "name": "faq"},
        "response_url": response_url,
        "trigger_id": f"{secrets.randbelow(10**9)}.trigger",
        "actions": [{**button, "block_id": block_id, "action_ts": new_ts()}],
    }
    if not ephemeral:
        payload["message"] = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID,
                              "ts": message_ts, "thread_ts": thread_ts, "blocks": call_blocks,
                              "text": "…"}
    return interaction_body(payload)


# -- FAQ edits across servers (also used by benchmarks/faq_live.py) --

def live_env(standin: SlackStandIn, database_url: str) -> dict[str, str]:
    """A server answering in ``FAQ_CHANNEL`` with its FAQ edits in ``database_url``."""
    return server_env(standin, token=TOKEN, secret=SECRET, FAQ_CHANNELS=FAQ_CHANNEL,
                      DATABASE_URL=database_url)


def reply_to(server: ServerProcess, standin: SlackStandIn, text: str) -> str:
    """Mention the bot with ``text`` and return its one threaded reply, as JSON text."""
    event = mention(text)
    assert deliver(server, event) == 200
    call = answered_once(standin, event["ts"])
    return json.dumps(call.params, ensure_ascii=False)


def cli(database_url: str, *args: str) -> str:
    """``faqbot ARGS`` on ``database_url`` with the local embedder; its stdout (exit 0)."""
    result = run_cli(*args, env=clean_env(DATABASE_URL=database_url, EMBEDDING_BACKEND="local"))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def logged_after(database_url: str, before: int) -> None:
    """Wait until the log holds more than ``before`` questions. The bot posts its reply, then
    logs the question, and a click teaches only once its question is logged: a test that
    clicks as soon as the reply arrives must wait for this, or it races the log."""
    wait_until(lambda: len(table_rows(database_url, schema.questions)) > before,
               what="the question logged")


def questions_logged(database_url: str) -> int:
    return len(table_rows(database_url, schema.questions))


@contextmanager
def shared_database(request: pytest.FixtureRequest, workdir: Path) -> Iterator[str]:
    """The database a module's servers share, by the fixture's param: a SQLite file in
    ``workdir``, or a fresh database on the test PostgreSQL, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{workdir / 'faqbot.sqlite3'}"
        return
    postgres = request.getfixturevalue("postgres")
    url = postgres.new_database()
    try:
        yield url
    finally:
        postgres.drop_database(url)
