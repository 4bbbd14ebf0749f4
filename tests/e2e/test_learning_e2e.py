"""Learning from use, against real `faqbot serve` processes on one database: the asker's
choice click becomes a suggestion, acceptance makes the same question a single answer on the
other process within 10 s, and FAQ_AUTO_LEARN=2 waits for two distinct askers."""

from __future__ import annotations

import json
import secrets

from bot.storage import schema
from tests.conftest import clean_env, run_cli, server_env, table_rows, wait_until
from tests.e2e.conftest import (
    FAQ_CHANNEL,
    SECRET,
    TOKEN,
    action_payload,
    answered_once,
    click_reply,
    deliver,
    logged_after,
    message,
    questions_logged,
)
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import BOT_USER_ID, SlackStandIn, command_body, send_signed

ASKED = "How can Medicare help me?"  # asked directly, the sample offers three choices
# The first and the second of the three choices.
FIRST, SECOND = "premium-help", "what-is-medicare"


def learning_env(standin: SlackStandIn, database_url: str, **extra: str) -> dict[str, str]:
    return server_env(standin, token=TOKEN, secret=SECRET, FAQ_CHANNELS=FAQ_CHANNEL,
                      DATABASE_URL=database_url, **extra)


def ask_and_pick(server: ServerProcess, standin: SlackStandIn, user: str, picked: str,
                 database_url: str, clicks: int = 1) -> None:
    """``user`` asks, gets the choices, and picks ``picked`` ``clicks`` times."""
    event = message(f"<@{BOT_USER_ID}> {ASKED}", user=user)
    before = questions_logged(database_url)
    assert deliver(server, event) == 200
    reply = answered_once(standin, event["ts"])
    logged_after(database_url, before)
    [action_id] = [b["action_id"] for block in reply.params["blocks"]
                   if block["type"] == "actions" for b in block["elements"]
                   if b["action_id"].startswith("faq_choice_") and b["value"] == picked]
    for _ in range(clicks):
        assert click_reply(server, reply, action_id, thread_ts=event["ts"], user=user,
                           response_url=standin.response_url(f"pick-{user}")) == 200


def single_answer(server: ServerProcess, standin: SlackStandIn, faq_id: str) -> bool:
    event = message(f"<@{BOT_USER_ID}> {ASKED}", user="U7")
    assert deliver(server, event) == 200
    blocks = json.dumps(answered_once(standin, event["ts"]).params["blocks"])
    return "faq_choice_" not in blocks and faq_id in blocks


def suggestions(database_url: str) -> list[dict]:
    return table_rows(database_url, schema.suggestions)


def test_a_pick_accepted_on_the_cli_is_a_single_answer_on_the_other_server(slack_standin,
                                                                           database_url):
    env = learning_env(slack_standin, database_url)
    with ServerProcess(env) as a, ServerProcess(env) as b:
        a.wait_healthy()
        b.wait_healthy()
        ask_and_pick(a, slack_standin, "U1", SECOND, database_url)
        wait_until(lambda: len(suggestions(database_url)) == 1, what="a suggestion")
        [suggestion] = suggestions(database_url)
        assert (suggestion["faq_id"], suggestion["text"]) == (SECOND, ASKED)
        accepted = run_cli("faq", "learn", "--accept", str(suggestion["id"]),
                           env=clean_env(DATABASE_URL=database_url, EMBEDDING_BACKEND="local"))
        assert accepted.returncode == 0, accepted.stderr
        wait_until(lambda: single_answer(b, slack_standin, SECOND), timeout=10,
                   what="a single answer on the other server")


def test_auto_learn_2_waits_for_two_distinct_askers(slack_standin, database_url):
    env = learning_env(slack_standin, database_url, FAQ_AUTO_LEARN="2")
    with ServerProcess(env) as a, ServerProcess(env) as b:
        a.wait_healthy()
        b.wait_healthy()
        ask_and_pick(a, slack_standin, "U1", FIRST, database_url, clicks=2)
        wait_until(lambda: len(table_rows(database_url, schema.confirmations)) == 1,
                   what="one confirmation")
        assert [s["status"] for s in suggestions(database_url)] == ["pending"]
        assert not single_answer(a, slack_standin, FIRST)
        ask_and_pick(b, slack_standin, "U2", FIRST, database_url)
        wait_until(lambda: [s["status"] for s in suggestions(database_url)] == ["accepted"],
                   what="the suggestion accepted by itself")
        wait_until(lambda: single_answer(a, slack_standin, FIRST), timeout=10,
                   what="a single answer on the other server")


def test_a_pick_against_a_confident_answer_is_left_for_an_editor(slack_standin, tmp_path):
    """The bot answered one FAQ alone; the asker's 👎 and pick of another would move that
    boundary, so FAQ_AUTO_LEARN=1 leaves it pending for an editor."""
    url = f"sqlite:///{tmp_path / 'learn.sqlite3'}"
    with ServerProcess(learning_env(slack_standin, url, FAQ_AUTO_LEARN="1")) as server:
        server.wait_healthy()
        event, reply, updated = thumbs_down(server, slack_standin, "lost my medicare card", url)
        [button, *_] = offered(updated)
        body = action_payload(updated.params["blocks"], button["action_id"], user="U1",
                              response_url=slack_standin.response_url("pick-confident"),
                              message_ts=reply.response["ts"], thread_ts=event["ts"])
        assert send_signed(server.events_url, body, SECRET)[0] == 200
        wait_until(lambda: len(suggestions(url)) == 1, what="a suggestion")
        wait_until(lambda: any("not accepted by itself" in line for line in server.lines),
                   what="the refusal logged")
        assert [s["status"] for s in suggestions(url)] == ["pending"]


def thumbs_down(server: ServerProcess, standin: SlackStandIn, text: str, database_url: str):
    """U1 asks ``text``, gets one answer and votes 👎: the event, the reply, the update."""
    event = message(text, user="U1")
    before = questions_logged(database_url)
    assert deliver(server, event) == 200
    reply = answered_once(standin, event["ts"])
    logged_after(database_url, before)
    name = f"down-{event['ts']}"
    assert click_reply(server, reply, "faq_vote_down", thread_ts=event["ts"], user="U1",
                       response_url=standin.response_url(name)) == 200
    [updated] = standin.wait_for(f"response_url:{name}")
    return event, reply, updated


def offered(updated) -> list[dict]:
    return [b for block in updated.params["blocks"] if block["type"] == "actions"
            for b in block["elements"] if b["action_id"].startswith("faq_choice_")]


def test_after_the_askers_thumbs_down_the_next_faqs_are_offered_and_a_pick_teaches(
        slack_standin, tmp_path):
    url = f"sqlite:///{tmp_path / 'learn.sqlite3'}"
    with ServerProcess(learning_env(slack_standin, url)) as server:
        server.wait_healthy()
        event, reply, updated = thumbs_down(server, slack_standin, "lost my medicare card", url)
        offered_buttons = offered(updated)
        assert offered_buttons
        assert "replacement-card" not in {b["value"] for b in offered_buttons}
        picked = offered_buttons[0]["value"]
        body = action_payload(updated.params["blocks"], offered_buttons[0]["action_id"],
                              user="U1",
                              response_url=slack_standin.response_url("pick"),
                              message_ts=reply.response["ts"], thread_ts=event["ts"])
        assert send_signed(server.events_url, body, SECRET)[0] == 200
        wait_until(lambda: [(s["faq_id"], s["text"]) for s in suggestions(url)]
                   == [(picked, "lost my medicare card")], what="the pick suggested")
        # Someone else's 👎 gets no choices: they didn't ask.
        assert click_reply(server, reply, "faq_vote_down", thread_ts=event["ts"], user="U5",
                           response_url=slack_standin.response_url("other")) == 200
        [other] = slack_standin.wait_for("response_url:other")
        assert "faq_choice_" not in json.dumps(other.params["blocks"])


def private_ask(server: ServerProcess, standin: SlackStandIn, user: str,
                text: str, database_url: str) -> list[dict]:
    """``user`` asks ``text`` with /faq; the blocks of the bot's private reply."""
    body = command_body(text, response_url=standin.response_url(f"ask-{user}"),
                        channel_id=FAQ_CHANNEL, user_id=user)
    before = questions_logged(database_url)
    assert send_signed(server.events_url, body, SECRET)[0] == 200
    [reply] = standin.wait_for(f"response_url:ask-{user}")
    logged_after(database_url, before)
    assert reply.params["response_type"] == "ephemeral"
    return reply.params["blocks"]


def private_click(server: ServerProcess, standin: SlackStandIn, user: str,
                  shown: list[dict], action_id: str, *, value: str | None = None) -> str:
    """``user`` clicks ``action_id`` (the one for FAQ ``value``) on a private reply showing
    ``shown``; the name of the response_url it was given."""
    [action_id] = [b["action_id"] for block in shown if block["type"] == "actions"
                   for b in block["elements"] if b["action_id"].startswith(action_id)
                   and value in (None, b["value"])]
    name = f"click-{user}-{secrets.token_hex(3)}"
    click = action_payload(shown, action_id, user=user, response_url=standin.response_url(name))
    assert send_signed(server.events_url, click, SECRET)[0] == 200
    return name


def test_a_pick_in_a_private_faq_reply_teaches_too(slack_standin, tmp_path):
    """/faq answers privately (no message ts); the reply's block ids lead the asker's pick
    back to their question. Someone else's click on it, or the asker's click carrying
    another person's command, teaches nothing."""
    url = f"sqlite:///{tmp_path / 'learn.sqlite3'}"
    with ServerProcess(learning_env(slack_standin, url)) as server:
        server.wait_healthy()
        mine = private_ask(server, slack_standin, "U1", ASKED, url)
        theirs = private_ask(server, slack_standin, "U2", ASKED, url)
        private_click(server, slack_standin, "U2", mine, "faq_choice_", value=SECOND)
        [their_id] = {b["block_id"] for b in theirs if b["type"] == "actions"}
        crossed = [{**b, "block_id": their_id} if b["type"] == "actions" else b for b in mine]
        private_click(server, slack_standin, "U1", crossed, "faq_choice_", value=FIRST)
        last = private_click(server, slack_standin, "U1", mine, "faq_choice_", value=SECOND)
        wait_until(lambda: len(suggestions(url)) == 1, what="a suggestion")
        [redrawn] = slack_standin.wait_for(f"response_url:{last}")
        [suggestion] = suggestions(url)
        assert (suggestion["faq_id"], suggestion["text"]) == (SECOND, ASKED)
        assert len(table_rows(url, schema.confirmations)) == 1
        # The answer drawn in its place still leads back: the asker's 👎 there is offered
        # the next closest FAQs, as only the asker of a known question is.
        down = private_click(server, slack_standin, "U1", redrawn.params["blocks"],
                             "faq_vote_down")
        [updated] = slack_standin.wait_for(f"response_url:{down}")
        assert "Was it one of these?" in json.dumps(updated.params["blocks"])
        [vote] = [v for v in table_rows(url, schema.votes) if v["vote"] == "down"]
        assert vote["message_ts"].startswith("command:")  # tied to the question, not ""


def test_after_a_thumbs_down_on_a_private_answer_a_pick_teaches(slack_standin, tmp_path):
    url = f"sqlite:///{tmp_path / 'learn.sqlite3'}"
    with ServerProcess(learning_env(slack_standin, url)) as server:
        server.wait_healthy()
        answered = private_ask(server, slack_standin, "U1", "lost my medicare card", url)
        down = private_click(server, slack_standin, "U1", answered, "faq_vote_down")
        [updated] = slack_standin.wait_for(f"response_url:{down}")
        assert "Was it one of these?" in json.dumps(updated.params["blocks"])
        [button, *_] = [b for block in updated.params["blocks"] if block["type"] == "actions"
                        for b in block["elements"] if b["action_id"].startswith("faq_choice_")]
        private_click(server, slack_standin, "U1", updated.params["blocks"],
                      button["action_id"], value=button["value"])
        wait_until(lambda: len(suggestions(url)) == 1, what="a suggestion")
        [suggestion] = suggestions(url)
        assert (suggestion["faq_id"], suggestion["text"]) == (button["value"],
                                                               "lost my medicare card")


def test_a_later_vote_by_anyone_keeps_the_askers_follow_up(slack_standin, tmp_path):
    """The asker's 👎 added "Was it one of these?" and Ask a person; a bystander's vote on the
    message as it now is (either way) redraws it with both still there."""
    url = f"sqlite:///{tmp_path / 'learn.sqlite3'}"
    with ServerProcess(learning_env(slack_standin, url, FAQ_EXPERTS="S0EXPERTS")) as server:
        server.wait_healthy()
        event, reply, updated = thumbs_down(server, slack_standin, "lost my medicare card", url)
        choices = [b["value"] for b in offered(updated)]
        assert choices and "faq_escalate" in json.dumps(updated.params["blocks"])
        for vote in ("faq_vote_up", "faq_vote_down"):
            name = f"bystander-{vote}"
            body = action_payload(updated.params["blocks"], vote, user="U5",
                                  response_url=slack_standin.response_url(name),
                                  message_ts=reply.response["ts"], thread_ts=event["ts"])
            assert send_signed(server.events_url, body, SECRET)[0] == 200
            [redrawn] = slack_standin.wait_for(f"response_url:{name}")
            assert "Was it one of these?" in json.dumps(redrawn.params["blocks"])
            assert [b["value"] for b in offered(redrawn)] == choices
            assert "faq_escalate" in json.dumps(redrawn.params["blocks"])
            assert "<@U5> found this" in json.dumps(redrawn.params["blocks"])
            updated = redrawn
