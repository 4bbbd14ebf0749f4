"""The App Home listeners called directly: every open publishes, editors' clicks act once
and publish again, and anyone else's clicks (forged, replayed) change nothing."""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from slack_bolt import BoltContext

from bot.errors import UserError
from bot.faq.answerer import Answerer
from bot.faq.revisions import seen
from bot.report.home import HomeFacts, Unanswered
from bot.slack import blocks, home, modals
from bot.slack.listeners.home import (
    _on_home,
    handle_accept,
    handle_add,
    handle_edit,
    handle_home_opened,
    handle_reject,
)
from bot.slack.services import CONTEXT_KEY, Services
from bot.storage import LocalClaims
from tests.slack.listeners.click_fakes import payload
from tests.slack.listeners.edit_fakes import EDITOR, STRANGER, FakeClient, FakeEditing
from tests.standins.slack_standin import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID

LOGGER = logging.getLogger("tests.home")
ASKED = "Where do I park my bike? <!channel>"
_triggers = itertools.count(1)


@dataclass
class FakeHome:
    opened: int = 0

    def facts(self) -> HomeFacts:
        self.opened += 1
        return HomeFacts(learning=True, log_readable=True, unanswered_questions=3,
                         unanswered=(Unanswered(ASKED, 3, 2),), unanswered_groups=1)


@dataclass
class FakeLearning:
    failure: UserError | None = None
    decided: list[tuple[str, int, str]] = field(default_factory=list)

    def confirmed(self, **_: Any) -> None:
        """Not what the App Home is about."""

    def accept(self, suggestion_id: int, *, by: str) -> None:
        self._decide("accept", suggestion_id, by)

    def reject(self, suggestion_id: int, *, by: str) -> None:
        self._decide("reject", suggestion_id, by)

    def _decide(self, what: str, suggestion_id: int, by: str) -> None:
        if self.failure is not None:
            raise self.failure
        self.decided.append((what, suggestion_id, by))


@dataclass
class Setup:
    context: BoltContext
    home: FakeHome
    learning: FakeLearning
    client: FakeClient = field(default_factory=FakeClient)


@pytest.fixture
def setup(answerer: Answerer) -> Setup:
    fake_home, learning = FakeHome(), FakeLearning()
    services = Services(answerer=answerer, deduper=LocalClaims(), editing=FakeEditing(answerer),
                        editors=frozenset({EDITOR}), learning=learning, home=fake_home,
                        faq_channels=frozenset({"CFAQ"}))
    context = BoltContext({"bot_user_id": BOT_USER_ID, "bot_id": BOT_ID, "team_id": TEAM_ID,
                           CONTEXT_KEY: services})
    return Setup(context, fake_home, learning)


def opened(user: str, tab: str = "home") -> dict[str, Any]:
    return {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab,
            "event_ts": "1700000000.000100"}


def home_click(action_id: str, value: str, *, user: str = EDITOR,
               trigger: str | None = None) -> dict[str, Any]:
    """A block_actions body as Slack sends it for a click on the App Home."""
    return {"type": "block_actions", "api_app_id": APP_ID,
            "trigger_id": trigger or f"{next(_triggers)}.333.home",
            "user": {"id": user, "username": "someone", "team_id": TEAM_ID},
            "team": {"id": TEAM_ID, "domain": "acme"},
            "container": {"type": "view", "view_id": "V0HOME"},
            "view": {"id": "V0HOME", "type": "home", "blocks": []},
            "actions": [{"action_id": action_id, "value": value, "type": "button",
                         "block_id": "b1", "action_ts": "1700000002.000300"}]}


def click(listener: Any, body: dict[str, Any], setup: Setup) -> None:
    listener(ack=setup.client.ack, body=body, action=body["actions"][0], client=setup.client,
             context=setup.context)


def published(setup: Setup) -> dict[str, Any]:
    [sent] = setup.client.sent("views.publish")
    return sent


def test_an_editor_opening_the_home_sees_the_log(setup: Setup) -> None:
    handle_home_opened(event=opened(EDITOR), client=setup.client, context=setup.context,
                       logger=LOGGER)
    sent = published(setup)
    assert sent["user_id"] == EDITOR and sent["view"]["type"] == "home"
    rendered = json.dumps(sent["view"])
    assert "Where do I park my bike? &lt;!channel&gt;" in rendered and setup.home.opened == 1
    handle_home_opened(event=opened(EDITOR), client=setup.client, context=setup.context,
                       logger=LOGGER)
    assert len(setup.client.sent("views.publish")) == 2 and setup.home.opened == 2  # fresh


def test_anyone_else_sees_no_question_and_the_log_is_not_read(setup: Setup) -> None:
    handle_home_opened(event=opened(STRANGER), client=setup.client, context=setup.context,
                       logger=LOGGER)
    rendered = json.dumps(published(setup)["view"])
    assert "park my bike" not in rendered and "For FAQ editors" not in rendered
    assert setup.home.opened == 0
    assert setup.context[CONTEXT_KEY].examples(5)[0] in rendered


@pytest.mark.parametrize("event", [opened(EDITOR, tab="messages"), opened("<!channel>")])
def test_the_messages_tab_and_a_malformed_user_publish_nothing(setup: Setup,
                                                               event: dict[str, Any]) -> None:
    handle_home_opened(event=event, client=setup.client, context=setup.context, logger=LOGGER)
    assert setup.client.calls == []


@pytest.mark.parametrize(("listener", "decision"), [(handle_accept, "accept"),
                                                    (handle_reject, "reject")])
def test_an_editors_decision_is_made_once_and_the_home_published_again(
        setup: Setup, listener: Any, decision: str) -> None:
    body = home_click(home.ACCEPT if decision == "accept" else home.REJECT, "7")
    click(listener, body, setup)
    assert setup.learning.decided == [(decision, 7, EDITOR)]
    assert "suggestion 7" in json.dumps(published(setup)["view"])
    click(listener, body, setup)  # Slack delivered it again: same trigger id
    assert setup.learning.decided == [(decision, 7, EDITOR)]
    assert len(setup.client.sent("views.publish")) == 1


@pytest.mark.parametrize("listener", [handle_accept, handle_reject, handle_add, handle_edit])
def test_a_non_editors_click_changes_nothing(setup: Setup, listener: Any) -> None:
    click(listener, home_click(home.ACCEPT, "7", user=STRANGER), setup)
    assert setup.learning.decided == []
    assert setup.client.names == ["ack"]


def test_a_decision_refused_says_why_on_top(setup: Setup) -> None:
    setup.learning.failure = UserError("suggestion 7 was accepted already", "see them")
    click(handle_accept, home_click(home.ACCEPT, "7"), setup)
    first = published(setup)["view"]["blocks"][0]
    assert "suggestion 7 was accepted already" in json.dumps(first)


@pytest.mark.parametrize("value", ["", "7; drop table", "٣", "1" * 40])
def test_a_suggestion_id_that_isnt_one_is_ignored(setup: Setup, value: str) -> None:
    click(handle_accept, home_click(home.ACCEPT, value), setup)
    assert setup.learning.decided == [] and setup.client.names == ["ack"]


def test_a_click_not_on_the_home_is_ignored(setup: Setup) -> None:
    body = payload(home.ACCEPT, "7")  # on a message, not the App Home
    body["user"]["id"] = EDITOR
    click(handle_accept, body, setup)
    assert setup.learning.decided == [] and setup.client.names == ["ack"]
    assert not _on_home(body) and _on_home(home_click(blocks.EDIT, "x"))


def test_add_faq_opens_the_modal_on_the_question_posting_nothing_once_saved(
        setup: Setup) -> None:
    click(handle_add, home_click(home.ADD, ASKED), setup)
    [opened_modal] = setup.client.sent("views.open")
    view = opened_modal["view"]
    assert view["callback_id"] == modals.EDIT_CALLBACK and view["private_metadata"] == ""
    question = next(b for b in view["blocks"] if b.get("block_id") == "question")
    assert question["element"]["initial_value"] == ASKED


def test_edit_opens_the_modal_on_the_faq_as_it_is_now(setup: Setup,
                                                      answerer: Answerer) -> None:
    click(handle_edit, home_click(blocks.EDIT, "replacement-card"), setup)
    [opened_modal] = setup.client.sent("views.open")
    entry = answerer.faq.by_id("replacement-card")
    assert json.loads(opened_modal["view"]["private_metadata"]) == {
        "faq_id": "replacement-card", "seen": seen(entry).encode()}
    assert answerer.faq.by_id("replacement-card").answer[:50] in json.dumps(
        opened_modal["view"], ensure_ascii=False)


def test_edit_of_an_faq_since_gone_says_so(setup: Setup) -> None:
    click(handle_edit, home_click(blocks.EDIT, "no-such-faq"), setup)
    assert setup.client.sent("views.open") == []
    assert "no longer in the FAQ" in json.dumps(published(setup)["view"]["blocks"][0])
