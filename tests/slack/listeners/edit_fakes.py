"""Fakes for calling the FAQ-editing listeners directly: a ``FaqEditing`` that validates like
``LiveFaq`` (the engine's own rules, on the real sample) but keeps what it is asked to save
instead of embedding and storing it, a WebClient stand-in that also opens views and reads
threads, and the context ``create_app`` would give with FAQ_EDITORS set."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import BoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.faq import edits
from bot.faq.answerer import Answerer
from bot.faq.revisions import Seen
from bot.faq.sources import FaqRow
from bot.slack.services import CONTEXT_KEY, Services
from bot.storage import LocalClaims
from tests.slack.listeners.conftest import FakeSlack
from tests.standins.slack_standin import BOT_ID, BOT_USER_ID, TEAM_ID

EDITOR = "U0EDITOR"
STRANGER = "U0STRANGER"
CHANNEL = "C0HELP"
THREAD = "1700000000.000100"  # the question asked in the channel
REPLY = "1700000005.000500"  # the answer someone gave in its thread


@dataclass
class FakeEditing:
    """``FaqEditing`` on ``answerer``'s FAQ: ``problems`` is the engine's, ``save`` records
    (or raises ``failure``, as LiveFaq does when the embedder or database is down)."""

    answerer: Answerer
    failure: Exception | None = None
    delay: float = 0.0  # seconds a save takes, as with a slow embedding service
    checked: list[tuple[FaqRow, str | None]] = field(default_factory=list)
    saved: list[dict[str, Any]] = field(default_factory=list)

    def problems(self, row: FaqRow, *, replacing: str | None = None) -> dict[str, str]:
        self.checked.append((row, replacing))
        return edits.problems(self.answerer.faq, row, replacing=replacing)

    def save(self, row: FaqRow, *, editor: str, replacing: str | None = None,
             since: Seen | None = None, merge: bool = True) -> FaqRow:
        time.sleep(self.delay)
        if self.failure is not None:
            raise self.failure
        self.saved.append({"row": row, "editor": editor, "replacing": replacing,
                           "since": since, "merge": merge})
        return row


@dataclass
class FakeClient(FakeSlack):
    """FakeSlack plus views.open, views.publish and conversations.replies (answering
    ``thread``, or the Slack error ``replies_error``)."""

    thread: list[dict[str, Any]] = field(default_factory=list)
    replies_error: str = ""
    update_error: str = ""  # views.update's Slack error, as when the modal was closed
    unpostable: str = ""  # a channel where chat.postMessage fails with ``post_error``
    post_error: str = "not_in_channel"

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        if kwargs["channel"] == self.unpostable:
            self.calls.append(("chat.postMessage refused", kwargs))
            raise _slack_error("chat.postMessage", self.post_error)
        return super().chat_postMessage(**kwargs)

    def views_open(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("views.open", kwargs))
        return {"ok": True}

    def views_publish(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("views.publish", kwargs))
        return {"ok": True}

    def views_update(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("views.update", kwargs))
        if self.update_error:
            raise _slack_error("views.update", self.update_error)
        return {"ok": True}

    def conversations_replies(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("conversations.replies", kwargs))
        if self.replies_error:
            raise _slack_error("conversations.replies", self.replies_error)
        return {"ok": True, "messages": self.thread}

    @property
    def modal(self) -> dict[str, Any]:
        [opened] = self.sent("views.open")
        return opened["view"]


def _slack_error(method: str, error: str) -> SlackApiError:
    response = SlackResponse(client=None, http_verb="POST", api_url=f"https://slack.com/api/{method}",
                             req_args={}, data={"ok": False, "error": error}, headers={},
                             status_code=200)
    return SlackApiError("failed", response)


def editing_context(answerer: Answerer, editing: FakeEditing | None,
                    editors: frozenset[str] = frozenset({EDITOR})) -> BoltContext:
    services = Services(answerer=answerer, deduper=LocalClaims(), editing=editing,
                        editors=editors)
    return BoltContext({"bot_user_id": BOT_USER_ID, "bot_id": BOT_ID, "team_id": TEAM_ID,
                        CONTEXT_KEY: services})


def fields(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The modal's input blocks by block id."""
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def initial(view: dict[str, Any]) -> dict[str, str]:
    return {name: block["element"].get("initial_value", "")
            for name, block in fields(view).items()}
