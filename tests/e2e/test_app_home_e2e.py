"""End to end: the App Home of real ``faqbot serve`` processes, driven by signed
``app_home_opened`` events and App Home clicks, with the Slack stand-in recording
``views.publish``.

An editor's Home lists a question asked earlier that got no answer; anyone else's lists no
question. A learned phrasing (the asker picked one of the choices) waits on the editor's
Home: a non-editor's forged Accept leaves it pending, and the editor's Accept makes the same
question get a single answer from another server on the same database within 10 s.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.slack import home
from bot.slack.handoff_blocks import SAVE_REPLY
from bot.storage import schema
from tests.conftest import server_env, table_rows, wait_until
from tests.e2e.conftest import (
    FAQ_CHANNEL,
    SECRET,
    TOKEN,
    answered_once,
    asked,
    click_reply,
    deliver,
    logged_after,
    message,
    new_ts,
    posts_for,
    questions_logged,
)
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import (
    APP_ID,
    BOT_USER_ID,
    TEAM_ID,
    SlackStandIn,
    interaction_body,
    send_signed,
)

EDITOR = "U0EDITOR"
STRANGER = "U0STRANGER"
ASKER = "U1"  # who message() asks as
# Asked directly, the sample answers it with three choices (in a channel: silence).
WITH_CHOICES = f"<@{BOT_USER_ID}> How can Medicare help me?"
LIVE_WITHIN_S = 10.0


@dataclass
class Pair:
    first: ServerProcess
    second: ServerProcess
    database_url: str


def home_env(slack: SlackStandIn, database_url: str) -> dict[str, str]:
    return server_env(slack, token=TOKEN, secret=SECRET, FAQ_CHANNELS=FAQ_CHANNEL,
                      DATABASE_URL=database_url, FAQ_EDITORS=EDITOR)


@pytest.fixture
def pair(slack: SlackStandIn, tmp_path) -> Iterator[Pair]:
    """Two servers on one fresh SQLite database: each test's suggestions are its own."""
    url = f"sqlite:///{tmp_path / 'faqbot.sqlite3'}"
    with ServerProcess(home_env(slack, url), cwd=str(tmp_path)) as first, \
            ServerProcess(home_env(slack, url), cwd=str(tmp_path)) as second:
        first.wait_healthy()
        second.wait_healthy()
        yield Pair(first, second, url)
    slack.reset()


def open_home(server: ServerProcess, slack: SlackStandIn, user: str) -> dict[str, Any]:
    """``user`` opens the Home tab; the view the server published for them."""
    before = len(published(slack, user))
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
             "event_ts": new_ts()}
    assert deliver(server, event) == 200
    return slack.wait_for("views.publish", before + 1, timeout=LIVE_WITHIN_S,
                          where=lambda c: c.params.get("user_id") == user)[-1].params["view"]


def published(slack: SlackStandIn, user: str) -> list[Any]:
    return [c for c in slack.calls("views.publish") if c.params.get("user_id") == user]


def click_home(server: ServerProcess, user: str, action_id: str, value: str) -> int:
    """A signed click by ``user`` on a button of their App Home, as Slack sends it."""
    payload = {
        "type": "block_actions", "api_app_id": APP_ID,
        "user": {"id": user, "username": "someone", "team_id": TEAM_ID},
        "team": {"id": TEAM_ID, "domain": "acme"},
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home", "team_id": TEAM_ID, "app_id": APP_ID},
        "trigger_id": f"{secrets.randbelow(10**9)}.trigger",
        "actions": [{"action_id": action_id, "value": value, "type": "button",
                     "block_id": "b1", "action_ts": new_ts()}],
    }
    status, _, _ = send_signed(server.events_url, interaction_body(payload), SECRET)
    return status


def buttons(view: dict[str, Any], action_id: str) -> list[str]:
    """The values of the view's ``action_id`` buttons."""
    elements = [b.get("accessory") for b in view["blocks"]]
    elements += [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    return [e["value"] for e in elements if e and e["action_id"] == action_id]


def suggestions(pair: Pair) -> list[dict[str, Any]]:
    return table_rows(pair.database_url, schema.suggestions)


def suggest(pair: Pair, slack: SlackStandIn) -> tuple[dict[str, Any], str]:
    """The asker picks one of the choices the bot offered: a pending suggestion (and the FAQ
    id picked)."""
    before = questions_logged(pair.database_url)
    event, offer = asked(pair.first, slack, WITH_CHOICES)
    logged_after(pair.database_url, before)
    [pick] = [e for b in offer.params["blocks"] if b["type"] == "actions"
              for e in b["elements"] if e["action_id"] == "faq_choice_1"]
    assert click_reply(pair.first, offer, "faq_choice_1", response_url=slack.response_url("c"),
                       thread_ts=event["ts"], user=ASKER) == 200
    wait_until(lambda: bool(suggestions(pair)), what="the suggestion stored")
    [suggestion] = suggestions(pair)
    assert (suggestion["status"], suggestion["faq_id"]) == ("pending", pick["value"])
    return suggestion, pick["value"]


def test_an_editors_home_lists_a_question_that_got_no_answer_and_no_one_elses_does(
        pair: Pair, slack: SlackStandIn) -> None:
    question = f"Where do I park my bike at the office, gate {secrets.token_hex(2)}?"
    event = message(question)
    assert deliver(pair.first, event) == 200
    wait_until(lambda: any(row["text"] == question
                           for row in table_rows(pair.database_url, schema.questions)),
               what="the question logged")
    assert posts_for(slack, event["ts"]) == []  # silent in the channel: nothing matched

    editors = json.dumps(open_home(pair.second, slack, EDITOR), ensure_ascii=False)
    assert question in editors and "For FAQ editors" in editors
    assert question in buttons(open_home(pair.first, slack, EDITOR), home.ADD)

    strangers = json.dumps(open_home(pair.first, slack, STRANGER), ensure_ascii=False)
    assert question not in strangers and "For FAQ editors" not in strangers
    assert "Try asking" in strangers


def test_a_non_editors_forged_accept_changes_nothing(pair: Pair, slack: SlackStandIn) -> None:
    suggestion, _ = suggest(pair, slack)
    assert str(suggestion["id"]) in buttons(open_home(pair.first, slack, EDITOR), home.ACCEPT)
    assert click_home(pair.first, STRANGER, home.ACCEPT, str(suggestion["id"])) == 200
    pair.first.wait_for_line(r"ignored an App Home click from someone not in FAQ_EDITORS",
                             timeout=LIVE_WITHIN_S)
    assert [s["status"] for s in suggestions(pair)] == ["pending"]
    assert table_rows(pair.database_url, schema.faq_edits) == []
    assert published(slack, STRANGER) == []


def test_an_editors_accept_is_answered_by_another_server_within_10_s(
        pair: Pair, slack: SlackStandIn) -> None:
    suggestion, chosen = suggest(pair, slack)
    [accept] = [v for v in buttons(open_home(pair.first, slack, EDITOR), home.ACCEPT)
                if v == str(suggestion["id"])]
    assert click_home(pair.first, EDITOR, home.ACCEPT, accept) == 200
    accepted = f"Accepted suggestion {accept}"
    wait_until(lambda: any(accepted in json.dumps(c.params["view"])
                           for c in published(slack, EDITOR)),
               what="the editor's Home published again")
    assert [s["status"] for s in suggestions(pair)] == ["accepted"]

    start = time.monotonic()

    def answered_on_the_other_server() -> bool:
        event = message(WITH_CHOICES)
        assert deliver(pair.second, event) == 200
        reply = answered_once(slack, event["ts"])
        buttons_ = [e for b in reply.params["blocks"] if b["type"] == "actions"
                    for e in b["elements"]]
        return [(e["action_id"], e["value"]) for e in buttons_][:1] == [("faq_vote_up", chosen)]

    wait_until(answered_on_the_other_server, timeout=LIVE_WITHIN_S,
               what="the accepted phrasing answered by the other server")
    assert time.monotonic() - start < LIVE_WITHIN_S


def test_an_editors_home_lists_escalations_escaped_with_save_as_faq(
        pair: Pair, slack: SlackStandIn) -> None:
    """Escalations as the Ask a person flow stores them (written here through the same
    ``Store``): the open one and the answered one reach the editor's Home, hostile text as
    text, and no one else's."""
    from bot.storage import Store

    hostile = "<!channel> <@U0BOSS> help " + "x" * 4000
    store = Store.from_url(pair.database_url)
    waiting, _ = store.escalate(team=TEAM_ID, channel=FAQ_CHANNEL, question_key=new_ts(),
                                asker=ASKER, question=hostile, private=False, experts="S0EXP")
    answered, _ = store.escalate(team=TEAM_ID, channel=FAQ_CHANNEL, question_key=new_ts(),
                                 asker=ASKER, question="Where is form B?", private=False,
                                 experts="S0EXP")
    store.change_escalation(waiting.id, "claim", user="U0EXPERT")
    store.change_escalation(answered.id, "answered", user="U0EXPERT", text="At the desk.")
    store.close()

    view = open_home(pair.second, slack, EDITOR)
    shown = json.dumps(view, ensure_ascii=False)
    assert "&lt;!channel&gt; &lt;@U0BOSS&gt; help" in shown
    assert "<!channel>" not in shown and "<@U0BOSS>" not in shown
    assert "claimed by <@U0EXPERT>" in shown and "Where is form B?" in shown
    assert buttons(view, SAVE_REPLY) == [str(answered.id)]
    assert len(view["blocks"]) < 100

    strangers = json.dumps(open_home(pair.first, slack, STRANGER), ensure_ascii=False)
    assert "form B" not in strangers and "U0BOSS" not in strangers
