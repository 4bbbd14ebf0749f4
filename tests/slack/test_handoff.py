"""The hand-off itself (``bot.slack.handoff``) on a real store and a real WebClient talking to
the Slack stand-in: what a failed post, a failed relay, a stranger and hostile text do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.experts import parse_experts
from bot.slack import handoff
from bot.slack.handoff_blocks import escaped, relayed_message
from bot.slack.services import Handoff, Services
from bot.storage import AskedQuestion, Store, utcnow
from tests.standins.slack_standin import SlackStandIn

TEAM, CHANNEL, QUESTION_TS = "T1", "C0HELP", "1700000000.000100"


@pytest.fixture
def stand_in() -> Iterator[SlackStandIn]:
    with SlackStandIn() as slack:
        yield slack


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    opened = Store.from_url(f"sqlite:///{tmp_path / 'handoff.sqlite3'}", lease_seconds=0.2)
    yield opened
    opened.close()


def services(store: Store, answerer, experts: str = "S0HELP") -> Services:
    return Services(answerer=answerer, deduper=store, editors=frozenset({"U0EDITOR"}),
                    handoff=Handoff(store=store, experts=parse_experts(experts)))


def client(stand_in: SlackStandIn) -> WebClient:
    return WebClient(token="xoxb-test", base_url=stand_in.api_url)


ASKED = AskedQuestion(text="who fixes the coffee machine?", candidates=(), decision="none",
                      ts=QUESTION_TS)


def test_a_failed_post_is_placed_by_the_next_click(
        stand_in: SlackStandIn, store: Store, answerer) -> None:
    faq = services(store, answerer)
    stand_in.set_response("chat.postMessage", {"ok": False, "error": "not_in_channel"})
    with pytest.raises(SlackApiError):
        handoff.escalate(client(stand_in), faq, team=TEAM, channel=CHANNEL, asked=ASKED,
                         asker="U1", thread_ts=QUESTION_TS)
    stand_in.clear_response("chat.postMessage")
    [stored] = store.escalations()
    assert stored.post_ts is None  # kept, not placed, and no reminder is owed yet
    assert store.escalations_due(utcnow() + timedelta(hours=1)) == []
    again = handoff.escalate(client(stand_in), faq, team=TEAM, channel=CHANNEL, asked=ASKED,
                             asker="U1", thread_ts=QUESTION_TS)
    assert again.made and store.escalations()[0].post_ts


def test_only_experts_and_editors_take_it_and_a_replier_alone_doesnt_resolve(
        stand_in: SlackStandIn, store: Store, answerer) -> None:
    stand_in.group_members["S0HELP"] = ("U0EXPERT",)
    faq = services(store, answerer)
    web = client(stand_in)
    placed = handoff.escalate(web, faq, team=TEAM, channel=CHANNEL, asked=ASKED, asker="U1",
                              thread_ts=QUESTION_TS).escalation
    assert placed is not None
    assert handoff.may_claim(web, faq, placed, "U0EXPERT")
    assert handoff.may_claim(web, faq, placed, "U0EDITOR")
    assert not handoff.may_claim(web, faq, placed, "U0BYSTANDER")
    handoff.record_reply(web, faq, placed, user="U0BYSTANDER", text="+1 same here")
    replied = store.escalation(placed.id)
    assert replied.answered_by == "U0BYSTANDER"
    assert not handoff.may_resolve(web, faq, replied, "U0BYSTANDER")
    assert handoff.may_resolve(web, faq, replied, "U1")


def test_a_failed_relay_still_records_the_answer_and_offers_to_save_it(
        stand_in: SlackStandIn, store: Store, answerer) -> None:
    faq = services(store, answerer, experts="U0EXPERT")
    web = client(stand_in)
    private = AskedQuestion(text="<" * 1500, candidates=(), decision="none",
                            ts="command:123.456.abc")
    placed = handoff.escalate(web, faq, team=TEAM, channel=CHANNEL, asked=private,
                              asker="U1", thread_ts=None).escalation
    assert placed is not None and placed.private and placed.thread_channel.startswith("D")
    stand_in.set_response("chat.postMessage", {"ok": False, "error": "cannot_dm_bot"})
    handoff.record_reply(web, faq, placed, user="U0EXPERT", text="Facilities, ext. 4400.")
    assert store.escalation(placed.id).answered_by == "U0EXPERT"
    [offer] = stand_in.calls("chat.postEphemeral")
    assert offer.params["user"] == "U0EXPERT"


def test_escaping_is_capped_whole_and_the_answer_comes_before_a_long_question() -> None:
    assert escaped("a<b", 10) == "a&lt;b"
    assert escaped("<" * 10, 10) == "&lt;&lt;…"  # never "&lt;&…"
    relayed = relayed_message(store_free_escalation("<" * 1500), "U0EXPERT", "It's ext. 4400.")
    text = relayed.blocks[0]["text"]["text"]
    assert "It's ext. 4400." in text[:200]
    assert "<<" not in json.dumps(relayed.blocks)


def store_free_escalation(question: str):
    from bot.storage import Escalation

    return Escalation(id=1, team=TEAM, channel=CHANNEL, question_key="command:1.2.3",
                      asker="U1", question=question, private=True, experts="U0EXPERT",
                      status="open", at=utcnow())
