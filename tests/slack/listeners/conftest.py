"""Calling the ``handle_*`` listeners directly, the way slack-samples/bolt-python-starter-template
tests its listeners: plain arguments, a context holding the ``Services``, and recording fakes
only where Slack's network would be (``ack``, ``respond`` and the WebClient)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from slack_bolt import BoltContext

from bot.faq.answerer import Answerer
from bot.slack.services import CONTEXT_KEY, Recorder, Services
from bot.storage import ClaimStore, LocalClaims, Store
from tests.standins.slack_standin import BOT_ID, BOT_USER_ID, TEAM_ID

FAQ_CHANNEL = "CFAQ"


@dataclass
class FakeSlack:
    """``ack``, ``respond`` and a WebClient's ``chat_postMessage``, recording every call in
    the order made, so a test can check what Slack would have been sent, and when."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def ack(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("ack", {"args": args, **kwargs}))

    def respond(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("respond", kwargs))
        return {"ok": True}

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:  # WebClient's name
        self.calls.append(("chat.postMessage", kwargs))
        return {"ok": True, "channel": kwargs["channel"], "ts": "9.000001"}

    def sent(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for called, kwargs in self.calls if called == name]

    @property
    def names(self) -> list[str]:
        return [called for called, _ in self.calls]


@pytest.fixture
def slack() -> FakeSlack:
    return FakeSlack()


@pytest.fixture
def log_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'log.sqlite3'}"


@pytest.fixture
def recorder(log_url: str) -> Iterator[Store]:
    """A real store on a SQLite file, for the tests that check what is logged."""
    store = Store.from_url(log_url)
    yield store
    store.close()


def context_for(answerer: Answerer, recorder: Recorder | None = None,
                deduper: ClaimStore | None = None) -> BoltContext:
    """The context ``create_app`` gives every request (BoltContext is a dict): faqbot's
    services and the bot's ids."""
    services = Services(answerer=answerer, deduper=deduper or LocalClaims(),
                        faq_channels=frozenset({FAQ_CHANNEL}), recorder=recorder)
    return BoltContext({"bot_user_id": BOT_USER_ID, "bot_id": BOT_ID, "team_id": TEAM_ID,
                        CONTEXT_KEY: services})


@pytest.fixture
def context(answerer: Answerer) -> BoltContext:
    return context_for(answerer)


@pytest.fixture
def fake_recorder() -> FakeRecorder:
    return FakeRecorder()


@pytest.fixture
def click_context(answerer: Answerer, fake_recorder: FakeRecorder) -> BoltContext:
    """For the click tests: votes and choices land in ``fake_recorder``."""
    return context_for(answerer, fake_recorder)


class FakeRecorder:
    """Keeps the votes and choice clicks it is given, for tests that check them."""

    def __init__(self) -> None:
        self.votes: list[dict[str, Any]] = []
        self.choices: list[dict[str, Any]] = []

    def log_question(self, **row: Any) -> None:
        """Questions are not what the click tests are about."""

    def log_vote(self, **row: Any) -> None:
        self.votes.append(row)

    def log_choice(self, **row: Any) -> None:
        self.choices.append(row)
