"""End to end: a question the FAQ can't answer is handed to a person, in its thread.

Two real ``faqbot serve`` processes share one database (a SQLite file, then PostgreSQL),
with FAQ_EXPERTS, FAQ_EDITORS and a triage channel set, and reminders after 3 s. Questions
and clicks go to either; Slack is the stand-in. Covered: a miss offers Ask a person; the
asker's clicks (three, on two processes) escalate once; anyone else's, or forged ones,
change nothing; an expert's reply is recorded and saved as an FAQ that the other process
answers within 10 s; /faq escalations never post where the command was typed; one
reminder, with a process restarted in between; kill -9 mid-escalation loses nothing.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from bot.storage import schema, utcnow
from tests.conftest import server_env, table_rows, wait_until
from tests.e2e.conftest import (
    FAQ_CHANNEL,
    SECRET,
    TOKEN,
    action_payload,
    answered_once,
    deliver,
    in_thread,
    mention,
    new_ts,
    shared_database,
)
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import (
    APP_ID,
    TEAM_ID,
    Call,
    HeldReply,
    SlackStandIn,
    command_body,
    interaction_body,
    send_signed,
)

ASKER, STRANGER, EXPERT, EDITOR = "U1", "U0STRANGER", "U0EXPERT", "U0EDITOR"
TRIAGE = "CTRIAGE"
GROUP = "S0HELPERS"
MISS = "who do I call when the espresso machine in the kitchen leaks?"
LIVE_WITHIN_S = 10.0


@dataclass
class Pair:
    a: ServerProcess
    b: ServerProcess
    url: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pair(request: pytest.FixtureRequest, slack: SlackStandIn,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    workdir = tmp_path_factory.mktemp("escalation")
    slack.group_members[GROUP] = (EXPERT,)
    with shared_database(request, workdir) as url:
        env = server_env(slack, token=TOKEN, secret=SECRET, FAQ_CHANNELS=FAQ_CHANNEL,
                         DATABASE_URL=url, FAQ_EDITORS=EDITOR, FAQ_EXPERTS=f"{GROUP}",
                         ESCALATION_CHANNEL=TRIAGE, ESCALATION_REMIND_MINUTES="0.05",
                         CLAIM_LEASE_SECONDS="2")
        with ServerProcess(env, cwd=str(workdir)) as a, \
                ServerProcess(env, cwd=str(workdir)) as b:
            a.wait_healthy()
            b.wait_healthy()
            yield Pair(a, b, url)


@pytest.fixture(autouse=True)
def _forget_calls(slack: SlackStandIn) -> Iterator[None]:
    yield
    slack.reset()


def escalations(pair: Pair) -> list[dict[str, Any]]:
    return table_rows(pair.url, schema.escalations)


def click(server: ServerProcess, slack: SlackStandIn, message: Call, action_id: str, *,
          user: str, thread_ts: str | None, channel: str = FAQ_CHANNEL,
          blocks: list[dict] | None = None) -> str:
    """``user`` clicks ``action_id`` on the bot's public ``message``; the name of the click's
    response_url."""
    name = f"click-{secrets.token_hex(4)}"
    body = action_payload(blocks or message.params["blocks"], action_id,
                          response_url=slack.response_url(name),
                          message_ts=message.response["ts"], thread_ts=thread_ts,
                          channel=channel, user=user)
    assert send_signed(server.events_url, body, SECRET)[0] == 200
    return name


def told(slack: SlackStandIn, name: str) -> str:
    """What the clicker was told privately."""
    [said] = slack.wait_for(f"response_url:{name}")
    assert said.params["response_type"] == "ephemeral"
    return said.params["text"]


def escalation_post(slack: SlackStandIn, thread: str) -> list[Call]:
    return [c for c in slack.calls("chat.postMessage")
            if in_thread(thread)(c) and GROUP in json.dumps(c.params)
            and "would like a person" in c.params["text"]]


def asked_and_missed(pair: Pair, slack: SlackStandIn, text: str = MISS) -> tuple[str, Call]:
    """A mention the FAQ can't answer, and the bot's reply, once the question is logged (the
    log is written just after the reply; a click leads back to the question through it)."""
    event = mention(text)
    assert deliver(pair.a, event) == 200
    reply = answered_once(slack, event["ts"])
    assert "faq_escalate" in json.dumps(reply.params["blocks"])
    wait_until(lambda: any(q["reply_ts"] == reply.response["ts"]
                           for q in table_rows(pair.url, schema.questions)),
               what="the question logged")
    return event["ts"], reply


def escalated(pair: Pair, slack: SlackStandIn, text: str = MISS) -> tuple[str, Call]:
    """A missed question its asker handed to a person, once its post and its triage card are
    recorded; the question's ts and the post."""
    ts, reply = asked_and_missed(pair, slack, text)
    click(pair.a, slack, reply, "faq_escalate", user=ASKER, thread_ts=ts)
    [post] = slack.wait_for("chat.postMessage", where=lambda c: c in escalation_post(slack, ts))
    wait_until(lambda: any(r["card_ts"] for r in escalations(pair) if r["question_key"] == ts),
               what="the escalation's card recorded")
    return ts, post


def test_the_askers_clicks_escalate_once_and_nobody_elses(pair: Pair,
                                                         slack: SlackStandIn) -> None:
    ts, reply = asked_and_missed(pair, slack)
    assert "ask a person" in json.dumps(reply.params["blocks"]).lower()
    assert told(slack, click(pair.b, slack, reply, "faq_escalate", user=STRANGER,
                             thread_ts=ts)) == "Only the person who asked can do that."
    names = [click(server, slack, reply, "faq_escalate", user=ASKER, thread_ts=ts)
             for server in (pair.a, pair.b, pair.a)]
    [post] = slack.wait_for("chat.postMessage", where=lambda c: c in escalation_post(slack, ts))
    assert f"<!subteam^{GROUP}>" in json.dumps(post.params["blocks"])
    # Two of the three clicks are told it was asked already; then count what was posted.
    wait_until(lambda: sum(bool(slack.calls(f"response_url:{n}")) for n in names) >= 2,
               what="the repeat clicks were answered")
    assert len(escalation_post(slack, ts)) == 1
    [reaction] = slack.wait_for("reactions.add",
                                where=lambda c: c.params.get("timestamp") == ts)
    assert reaction.params["name"] == "raising_hand"
    wait_until(lambda: any(r["card_ts"] for r in escalations(pair) if r["question_key"] == ts),
               what="the triage card")
    [row] = [r for r in escalations(pair) if r["question_key"] == ts]
    assert row["asker"] == ASKER and row["status"] == "open"
    cards = [c for c in slack.calls("chat.postMessage") if c.params["channel"] == TRIAGE
             and c.response["ts"] == row["card_ts"]]
    assert len(cards) == 1 and "espresso machine" in json.dumps(cards[0].params["blocks"])


def test_claim_and_resolve_by_the_right_people_only(pair: Pair, slack: SlackStandIn) -> None:
    ts, post = escalated(pair, slack, "where do the bicycle racks for visitors go?")
    [row] = [r for r in escalations(pair) if r["question_key"] == ts]
    assert told(slack, click(pair.a, slack, post, "faq_resolve", user=STRANGER,
                             thread_ts=ts)).startswith("Only the person who asked")
    assert told(slack, click(pair.b, slack, post, "faq_claim", user=STRANGER,
                             thread_ts=ts)).startswith("Only the experts")
    assert told(slack, click(pair.b, slack, post, "faq_claim", user=ASKER,
                             thread_ts=ts)).startswith("You asked this one")
    forged = json.loads(json.dumps(post.params["blocks"]))
    for block in forged:
        for element in block.get("elements", []):
            if element.get("action_id") == "faq_claim":
                element["value"] = str(row["id"] + 1000)
    refused = told(slack, click(pair.a, slack, post, "faq_claim", user=EXPERT, thread_ts=ts,
                                blocks=forged))
    assert refused == "That button doesn't belong to this question any more."
    assert [r["status"] for r in escalations(pair) if r["id"] == row["id"]] == ["open"]
    click(pair.b, slack, post, "faq_claim", user=EXPERT, thread_ts=ts)
    wait_until(lambda: any(r["claimed_by"] == EXPERT for r in escalations(pair)
                           if r["id"] == row["id"]), what="the claim")
    click(pair.a, slack, post, "faq_resolve", user=ASKER, thread_ts=ts)
    wait_until(lambda: any(c.params.get("name") == "white_check_mark"
                           and c.params.get("timestamp") == ts
                           for c in slack.calls("reactions.add")), what="the ✅")
    [done] = [r for r in escalations(pair) if r["id"] == row["id"]]
    assert (done["status"], done["resolved_by"]) == ("resolved", ASKER)
    assert any(c.params.get("name") == "raising_hand" and c.params.get("timestamp") == ts
               for c in slack.calls("reactions.remove"))
    updated = [c for c in slack.calls("chat.update") if c.params["ts"] == post.response["ts"]]
    assert "Resolved by" in json.dumps(updated[-1].params["blocks"])
    assert "faq_claim" not in json.dumps(updated[-1].params["blocks"])


def test_an_experts_reply_becomes_an_faq_answered_by_the_other_process(
        pair: Pair, slack: SlackStandIn) -> None:
    question = f"who restocks the printer paper on floor {secrets.randbelow(90) + 10}?"
    ts, _ = escalated(pair, slack, question)
    answer = "Facilities restock it every Monday; ping #facilities if it runs out."
    reply = {"type": "message", "channel": FAQ_CHANNEL, "user": EXPERT, "text": answer,
             "ts": new_ts(), "thread_ts": ts, "team": TEAM_ID, "channel_type": "channel"}
    assert deliver(pair.b, reply) == 200
    [offer] = slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == EXPERT
                             and c.params.get("thread_ts") == ts)
    [row] = [r for r in escalations(pair) if r["question_key"] == ts]
    assert (row["answered_by"], row["answer"]) == (EXPERT, answer)
    offered = Call(method="chat.postEphemeral", params=offer.params, headers={}, time=0.0)
    offered.response = {"ts": new_ts()}
    name = f"save-{secrets.token_hex(3)}"
    body = action_payload(offer.params["blocks"], "faq_save_reply",
                          response_url=slack.response_url(name), user=EXPERT)
    assert send_signed(pair.a.events_url, body, SECRET)[0] == 200
    assert "Only FAQ editors" in told(slack, name)  # the expert isn't one: told who is
    body = action_payload(offer.params["blocks"], "faq_save_reply",
                          response_url=slack.response_url(f"{name}-editor"), user=EDITOR)
    assert send_signed(pair.a.events_url, body, SECRET)[0] == 200
    [opened] = slack.wait_for("views.open", where=lambda c: answer in json.dumps(c.params))
    view = json.loads(opened.params["view"]) if isinstance(opened.params["view"], str) \
        else opened.params["view"]
    fields = {b["block_id"]: b["element"].get("initial_value", "") for b in view["blocks"]
              if b.get("type") == "input"}
    assert fields["answer"] == answer and question in fields["question"]
    assert question in fields["alternates"]
    saved_question = "Who restocks the printer paper?"
    status, content = submit(pair.a, EDITOR, view["private_metadata"], {
        **fields, "question": saved_question})
    assert (status, content) == (200, {})

    def answered_by_b() -> bool:
        event = mention(question)
        deliver(pair.b, event)
        return answer[:40] in json.dumps(answered_once(slack, event["ts"]).params)

    wait_until(answered_by_b, timeout=LIVE_WITHIN_S, what="the other process answers")
    [row] = [r for r in escalations(pair) if r["question_key"] == ts]
    assert row["saved_as"]


def submit(server: ServerProcess, user: str, metadata: str,
           values: dict[str, str]) -> tuple[int, dict[str, Any]]:
    payload = {
        "type": "view_submission", "api_app_id": APP_ID,
        "team": {"id": TEAM_ID, "domain": "acme"},
        "user": {"id": user, "username": "editor", "team_id": TEAM_ID},
        "trigger_id": f"{secrets.randbelow(10**9)}.trigger",
        "view": {"id": "V0FORM", "type": "modal", "team_id": TEAM_ID,
                 "callback_id": "faq_edit", "app_id": APP_ID, "hash": "1.x",
                 "private_metadata": metadata,
                 "state": {"values": {k: {"value": {"type": "plain_text_input", "value": v}}
                                      for k, v in values.items()}}},
    }
    status, _, content = send_signed(server.events_url, interaction_body(payload), SECRET)
    return status, json.loads(content) if content.strip() else {}


def test_a_faq_command_escalation_never_posts_where_it_was_typed(
        pair: Pair, slack: SlackStandIn) -> None:
    name = f"ask-{secrets.token_hex(3)}"
    # As Slack sends it: a mention of everyone, of a user, and a typed "<b>" (escaped).
    hostile = "<!channel> <@U0BOSS> &lt;b&gt; " + "why is the lift so slow " * 160
    body = command_body(hostile, response_url=slack.response_url(name),
                        channel_id=FAQ_CHANNEL, user_id=ASKER)
    assert send_signed(pair.a.events_url, body, SECRET)[0] == 200
    [private] = slack.wait_for(f"response_url:{name}")
    shown = private.params["blocks"]
    click_name = f"{name}-click"
    payload = action_payload(shown, "faq_escalate", user=ASKER,
                             response_url=slack.response_url(click_name))
    assert send_signed(pair.b.events_url, payload, SECRET)[0] == 200
    assert "direct message" in told(slack, click_name)
    [card] = slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == TRIAGE
                            and "lift so slow" in json.dumps(c.params))
    text = json.dumps(card.params["blocks"])
    assert "&lt;b&gt;" in text and "<b>" not in text
    assert "<!channel>" not in text and "<@U0BOSS>" not in text
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in card.params["blocks"])
    assert not [c for c in slack.calls("chat.postMessage")
                if c.params["channel"] == FAQ_CHANNEL and "lift so slow" in json.dumps(c.params)]
    # The expert answers in the card's thread; the asker gets it by direct message.
    reply = {"type": "message", "channel": TRIAGE, "user": EXPERT, "text": "It's being fixed.",
             "ts": new_ts(), "thread_ts": card.response["ts"], "team": TEAM_ID,
             "channel_type": "channel"}
    assert deliver(pair.a, reply) == 200
    slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == ASKER
                   and "being fixed" in json.dumps(c.params))


def test_one_reminder_with_a_process_restarted_in_between(pair: Pair,
                                                          slack: SlackStandIn) -> None:
    ts, _ = escalated(pair, slack, "can I park a motorbike in the visitor bay?")
    [row] = [r for r in escalations(pair) if r["question_key"] == ts]
    pair.b.stop()
    pair.b.start()
    pair.b.wait_healthy()

    def reminders(card_ts: str) -> list[Call]:
        return [c for c in slack.calls("chat.postMessage") if c.params["channel"] == TRIAGE
                and c.params.get("thread_ts") == card_ts and "waited" in c.params["text"]]

    wait_until(lambda: len(reminders(row["card_ts"])) >= 1, timeout=20, what="a reminder")
    # Another escalation's reminder comes 3 s after it is made: by then both processes
    # have looked at the first one several times.
    later, _ = escalated(pair, slack, "is there a quiet room for phone calls?")
    [second] = [r for r in escalations(pair) if r["question_key"] == later]
    wait_until(lambda: len(reminders(second["card_ts"])) >= 1, timeout=20,
               what="the second reminder")
    assert len(reminders(row["card_ts"])) == 1 and len(reminders(second["card_ts"])) == 1


def test_kill_9_while_escalating_loses_nothing(pair: Pair, slack: SlackStandIn) -> None:
    ts, reply = asked_and_missed(pair, slack, "who waters the plants on the roof terrace?")
    held = HeldReply(ts=new_ts(), hold=30)
    slack.set_response("chat.postMessage", held)
    try:
        click(pair.a, slack, reply, "faq_escalate", user=ASKER, thread_ts=ts)
        assert held.reached.wait(10)
        pair.a.proc.kill()  # kill -9 while the escalation is being posted
        pair.a.proc.wait(10)
    finally:
        slack.clear_response("chat.postMessage")
        held.release.set()
    [row] = [r for r in escalations(pair) if r["question_key"] == ts]
    assert row["status"] == "open" and row["post_ts"] is None  # kept, not yet placed
    pair.a.start()
    pair.a.wait_healthy()
    # The dead process's right to post it is a lease (CLAIM_LEASE_SECONDS=2): once it ran
    # out, the asker's next click places it, once.
    [placing] = [r["placing_at"] for r in escalations(pair) if r["question_key"] == ts]
    assert placing is not None
    wait_until(lambda: utcnow() - placing > timedelta(seconds=2.5), timeout=10,
               what="the dead process's lease to run out")
    click(pair.b, slack, reply, "faq_escalate", user=ASKER, thread_ts=ts)
    slack.wait_for("chat.postMessage", where=lambda c: c in escalation_post(slack, ts))
    wait_until(lambda: any(r["post_ts"] for r in escalations(pair)
                           if r["question_key"] == ts), what="the placement recorded")
    assert len([r for r in escalations(pair) if r["question_key"] == ts]) == 1
    # Besides the post the killed process had in flight, exactly one.
    assert len([c for c in escalation_post(slack, ts) if c.response["ts"] != held._ts]) == 1


def test_the_askers_thumbs_down_offers_a_person_and_nobody_elses(
        pair: Pair, slack: SlackStandIn) -> None:
    event = mention("How do I get a replacement Medicare card?")
    assert deliver(pair.a, event) == 200
    reply = answered_once(slack, event["ts"])
    wait_until(lambda: any(q["reply_ts"] == reply.response["ts"]
                           for q in table_rows(pair.url, schema.questions)),
               what="the question logged")
    stranger = click(pair.b, slack, reply, "faq_vote_down", user=STRANGER, thread_ts=event["ts"])
    asker = click(pair.a, slack, reply, "faq_vote_down", user=ASKER, thread_ts=event["ts"])
    [redrawn_for_stranger] = slack.wait_for(f"response_url:{stranger}")
    [redrawn_for_asker] = slack.wait_for(f"response_url:{asker}")
    assert "faq_escalate" not in json.dumps(redrawn_for_stranger.params["blocks"])
    assert "faq_escalate" in json.dumps(redrawn_for_asker.params["blocks"])
