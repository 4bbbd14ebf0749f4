"""``home_view``: what everyone sees, what only editors see, and Block Kit's limits kept
whatever the log holds (10,000 questions in a real SQLite store)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from bot.faq.answerer import Answerer
from bot.report.home import (
    Day,
    Disliked,
    HomeFacts,
    HomeReport,
    OpenEscalation,
    Pending,
    Unanswered,
    UnsavedReply,
)
from bot.slack import blocks, home
from bot.slack.handoff_blocks import SAVE_REPLY
from bot.slack.home import home_view
from bot.storage import Store
from tests.conftest import logged_answer

BOT = "U0BOT"
EXAMPLES = ["How do I get a replacement Medicare card?", "What is TRICARE?"]
TEXT_LIMIT = 3000


def texts(view: dict[str, Any]) -> list[str]:
    """Every text in the view's blocks."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(view["blocks"])
    return found


def buttons(view: dict[str, Any]) -> list[tuple[str, str]]:
    """(action id, value) of every button, in order."""
    found: list[tuple[str, str]] = []
    for block in view["blocks"]:
        elements = block.get("elements", []) if block["type"] == "actions" else []
        for element in [block["accessory"]] if "accessory" in block else elements:
            found.append((element["action_id"], element["value"]))
    return found


def facts(**changes: Any) -> HomeFacts:
    today = date(2026, 12, 14)
    days = tuple(Day(day=today - timedelta(days=13 - n), questions=n % 5, answered=n % 3)
                 for n in range(14))
    base: dict[str, Any] = dict(
        learning=True, log_readable=True, unanswered_questions=9,
        unanswered=(Unanswered("Where do I park my bike? <!channel>", 7, 5),
                    Unanswered("Is the canteen open?", 2, 1)),
        unanswered_groups=2,
        suggestions=(Pending(id=3, text="how do I join", faq_id="sign-up",
                             faq_question="How do I sign up?", users=2, too_close=False),
                     Pending(id=4, text="tricare cost", faq_id="tricare",
                             faq_question="What is TRICARE?", users=1, too_close=True),
                     Pending(id=5, text="old", faq_id="gone", faq_question=None, users=1,
                             too_close=False)),
        suggestion_count=3,
        disliked=(Disliked(faq_id="replacement-card", question="Replacement card?", down=4,
                           up=1),),
        disliked_count=1, days=days)
    return HomeFacts(**{**base, **changes})


def view_for(facts: HomeFacts | None = None, **kwargs: Any) -> dict[str, Any]:
    return home_view(faqs=13, examples=EXAMPLES, faq_channels=["CFAQ"], bot_user_id=BOT,
                     facts=facts, **kwargs)


def test_everyone_sees_how_to_ask_examples_and_the_count() -> None:
    view = view_for()
    assert view["type"] == "home"
    shown = "\n".join(texts(view))
    for way in ("<#CFAQ>", f"<@{BOT}>", "direct message", "/faq &lt;question&gt;"):
        assert way in shown
    assert all(example in shown for example in EXAMPLES)
    assert "The FAQ has 13 entries." in shown
    assert buttons(view) == []  # nothing to click, and no one's question
    assert "For FAQ editors" not in shown


def test_without_faq_channels_any_channel_will_do() -> None:
    view = home_view(faqs=1, examples=[], faq_channels=[], bot_user_id=BOT)
    assert "In any channel I'm in" in "\n".join(texts(view))


def test_an_editor_sees_the_log_with_its_buttons() -> None:
    view = view_for(facts())
    shown = "\n".join(texts(view))
    assert "*7×* by 5 people: Where do I park my bike? &lt;!channel&gt;" in shown  # escaped
    assert buttons(view) == [
        (home.ADD, "Where do I park my bike? <!channel>"), (home.ADD, "Is the canteen open?"),
        (home.ACCEPT, "3"), (home.REJECT, "3"), (home.ACCEPT, "4"), (home.REJECT, "4"),
        (home.REJECT, "5"),  # its FAQ is gone: nothing to accept it into
        (blocks.EDIT, "replacement-card")]
    assert shown.count("⚠️") == 1 and "confirmed by 2 people" in shown
    assert "👎 4  👍 1" in shown
    assert "Learning is off" not in shown


HOSTILE = "<!channel> <@U0BOSS> & <https://evil.example|click> " + "x" * 4000
LINK = "https://example.slack.com/archives/C1/p100"


def test_an_editor_sees_open_escalations_and_answers_to_save() -> None:
    waiting = (OpenEscalation(id=7, question=HOSTILE, asker="U1", minutes=135,
                              claimed_by="U2", answered_by=None, permalink=LINK),
               OpenEscalation(id=8, question=None, asker="U3", minutes=12, claimed_by=None,
                              answered_by="U4", permalink=None))
    replies = (UnsavedReply(id=9, question="Where is form B?", answered_by="U4",
                            answer=f"In the <#C1> wiki {HOSTILE}", minutes=3000,
                            permalink=LINK),)
    view = view_for(facts(open_escalations=waiting, open_escalation_count=2,
                          unsaved_replies=replies, unsaved_reply_count=1))
    shown = texts(view)
    [first, second] = [t for t in shown if "asked by" in t]
    assert first.startswith("&lt;!channel&gt; &lt;@U0BOSS&gt; &amp; &lt;https://evil")
    assert "<!channel>" not in first and "<@U0BOSS>" not in first and "|click>" not in first
    assert first.endswith(f"asked by <@U1> 2 h ago · claimed by <@U2> · <{LINK}|open the "
                          "thread>")
    assert len(first) < 2 * home.SHOWN_TEXT  # capped
    assert second == ("(the text was not logged: LOG_QUESTION_TEXT=false)\nasked by <@U3> "
                      "12 min ago · *not claimed* · answered by <@U4>")  # not posted: no link
    [saved] = [t for t in shown if t.startswith("Where is form B?")]
    assert saved.startswith(f"Where is form B?\n<@U4> answered 2 d ago · <{LINK}|open the "
                            "thread>: “In the &lt;#C1&gt; wiki &lt;!channel&gt;")
    assert (SAVE_REPLY, "9") in buttons(view) and SAVE_REPLY == "faq_save_reply"
    assert [b for b in buttons(view) if b[0] == SAVE_REPLY] == [(SAVE_REPLY, "9")]
    joined = "\n".join(shown)
    assert "*Asked a person, not resolved*: 2 questions" in joined
    assert "*Answered by a person, not yet an FAQ*: 1 answer," in joined
    assert joined.index("Asked a person") < joined.index("Unanswered in the last 30 days")


def test_what_is_not_a_user_id_or_an_https_link_is_not_markup() -> None:
    forged = OpenEscalation(id=1, question="q", asker="<!channel>", minutes=0,
                            claimed_by="U1> <!here", answered_by=None,
                            permalink="javascript:alert(1)")
    piped = UnsavedReply(id=2, question="q", answered_by="W1", answer=None, minutes=59,
                         permalink="https://example.slack.com/a|<!channel>")
    shown = texts(view_for(facts(open_escalations=(forged,), open_escalation_count=1,
                                 unsaved_replies=(piped,), unsaved_reply_count=1)))
    [status] = [t for t in shown if "asked by" in t]
    assert status == "q\nasked by someone 0 min ago · claimed by someone"
    [reply] = [t for t in shown if "answered" in t and t.startswith("q")]
    assert reply == ("q\n<@W1> answered 59 min ago · <https://example.slack.com/a%7C&lt;!channel"
                     "&gt;|open the thread>")


def test_no_escalations_no_sections_and_long_lists_say_how_many_more() -> None:
    assert not any("Asked a person" in t or "not yet an FAQ" in t
                   for t in texts(view_for(facts())))
    many = tuple(OpenEscalation(id=n, question=f"q{n}", asker="U1", minutes=n,
                                claimed_by=None, answered_by=None, permalink=None)
                 for n in range(home.LISTED + 2))
    saved = tuple(UnsavedReply(id=n, question=f"q{n}", answered_by="U2", answer="a",
                               minutes=n, permalink=None) for n in range(home.LISTED))
    view = view_for(facts(open_escalations=many, open_escalation_count=30,
                          unsaved_replies=saved, unsaved_reply_count=12))
    shown = texts(view)
    assert sum("asked by" in t for t in shown) == home.LISTED
    assert "and 25 more" in shown and "and 7 more" in shown
    assert len([b for b in buttons(view) if b[0] == SAVE_REPLY]) == home.LISTED


def test_the_last_14_days_are_drawn_with_block_characters() -> None:
    [chart] = [t for t in texts(view_for(facts())) if t.startswith("*The last 14 days*")]
    asked, share = (line.split("`")[1] for line in chart.splitlines()[1:])
    assert len(asked) == len(share) == 14
    assert set(asked) <= set(home.BARS + home.NO_DAY) and asked[0] == home.NO_DAY
    assert asked[4] == "█" and share[0] == home.NO_DAY


def test_learning_off_and_a_database_down_are_said() -> None:
    shown = "\n".join(texts(view_for(facts(learning=False, suggestions=(),
                                           suggestion_count=0))))
    assert "Learning is off" in shown and "LOG_QUESTION_TEXT=false" in shown
    down = "\n".join(texts(view_for(facts(log_readable=False, unanswered=(), days=()))))
    assert "can't be read right now" in down and "Unanswered" not in down


def test_long_lists_say_how_many_more() -> None:
    many = tuple(Unanswered(f"question {n}?", 10 - n, 1) for n in range(home.LISTED))
    shown = "\n".join(texts(view_for(facts(unanswered=many, unanswered_groups=40,
                                           suggestion_count=12))))
    assert "and 35 more groups" in shown and "and 9 more" in shown


def test_a_notice_goes_on_top() -> None:
    view = view_for(facts(), notice="Accepted suggestion 3 <b>")
    assert view["blocks"][0]["elements"][0]["text"] == "Accepted suggestion 3 &lt;b&gt;"


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """10,000 logged questions (2,000 distinct texts, the most asked ones over 3,000
    characters; most unanswered), votes and suggestions, in a real SQLite store."""
    store = Store.from_url(f"sqlite:///{tmp_path_factory.mktemp('big') / 'log.sqlite3'}")
    padding = " and also <!channel> & more" * 200  # ~5,000 characters
    for n in range(10_000):
        decision = "answer" if n % 4 == 0 else "none"
        asked = n % 2000 if n % 3 else n % 5
        store.log_question(team="T1", channel="C1", ts=f"1.{n}", user=f"U{n % 300}",
                           text=f"question {asked}{padding if asked < 5 else ''}",
                           answer=logged_answer(decision, ("replacement-card", 0.4)),
                           latency_ms=1.0)
    for n in range(50):
        store.log_vote(team="T1", channel="C1", message_ts=f"2.{n}", user=f"U{n}",
                       faq_id="replacement-card", vote="down")
        store.confirm_suggestion(team="T1", faq_id="sign-up", text=f"phrasing {n}{padding}",
                                 user=f"U{n}")
    for n in range(300):  # 200 open (100 of them answered), 100 answered and resolved
        escalation, _ = store.escalate(team="T1", channel="C1", question_key=f"1.{n}",
                                       asker=f"U{n}", question=f"escalated {n}{padding}",
                                       private=False, experts="S0EXP")
        store.change_escalation(escalation.id, "placed", thread_channel="C1",
                                thread_ts=f"1.{n}", post_ts=f"3.{n}",
                                permalink=f"https://example.slack.com/archives/C1/p3{n}")
        if n % 3:
            store.change_escalation(escalation.id, "answered", user="U0EXPERT",
                                    text=f"the answer {n}{padding}")
        if n % 3 == 2:
            store.change_escalation(escalation.id, "resolve", user="U0EXPERT")
    yield store
    store.close()


def test_10000_logged_questions_stay_within_block_kits_limits(big_store: Store,
                                                              answerer: Answerer) -> None:
    report = HomeReport(store=big_store, answerer=answerer, too_close=lambda *_: False)
    facts = report.facts()
    assert facts.unanswered_questions == 7500 and facts.suggestion_count == 50
    assert (facts.open_escalation_count, facts.unsaved_reply_count) == (200, 200)
    view = view_for(facts)
    assert len(view["blocks"]) < 100
    assert not [text for text in texts(view) if "<!channel>" in text]  # escaped everywhere
    assert ("*Asked a person, not resolved*: 200 questions, the longest waiting first:"
            in texts(view))
    assert max(len(text) for text in texts(view)) <= TEXT_LIMIT
    assert all(len(value) <= home.VALUE_LIMIT for _, value in buttons(view))
