"""``HomeReport.facts`` on a real SQLite store and the real sample FAQ and embedder: what an
editor's App Home is built from, bounded however much the log holds, and cheap to rebuild."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pytest

from bot.errors import EmbeddingServiceError
from bot.faq.answerer import Answerer
from bot.report.home import CHART_DAYS, HomeReport
from bot.storage import Store, utcnow
from tests.conftest import logged_answer

TEAM = "T1"
_stamps = itertools.count(1)


@dataclass
class Counting:
    """A real ``Answerer`` on the sample, with a fresh vector cache and every text sent to
    its embedder counted (``failure``: the embedder raises it instead)."""

    answerer: Answerer
    embedded: list[str] = field(default_factory=list)
    failure: Exception | None = None

    def __post_init__(self) -> None:
        inner = self.answerer.embedder

        class Embedder:
            model_id, dim = inner.model_id, inner.dim

            def embed(_, texts: Sequence[str]) -> np.ndarray:
                if self.failure is not None:
                    raise self.failure
                self.embedded.extend(texts)
                return inner.embed(list(texts))

        self.answerer = Answerer(faq=self.answerer.faq, embedder=Embedder(),
                                 min_score=self.answerer.min_score, margin=self.answerer.margin)


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    store = Store.from_url(f"sqlite:///{tmp_path / 'home.sqlite3'}")
    yield store
    store.close()


def ask(store: Store, text: str, decision: str = "none", *, user: str = "U1",
        faq_id: str = "replacement-card") -> None:
    store.log_question(team=TEAM, channel="C1", ts=f"1.{next(_stamps)}", user=user, text=text,
                       answer=logged_answer(decision, (faq_id, 0.3)), latency_ms=1.0)


def report(store: Store, counting: Counting,
           too_close=lambda text, faq_id: False) -> HomeReport:
    return HomeReport(store=store, answerer=counting.answerer, too_close=too_close)


def test_the_facts_an_editor_sees(store: Store, answerer: Answerer) -> None:
    for user in ("U1", "U2", "U3"):
        ask(store, "Where do I park my bike at the office?", user=user)
    ask(store, "where can I park my bicycle at the office?", user="U4")
    ask(store, "Is the canteen open on Sundays?")
    ask(store, "How do I get a replacement Medicare card?", "answer")
    ask(store, "what does part b cost?", "choices", faq_id="part-b-premium")
    for user, vote in (("U1", "down"), ("U2", "down"), ("U3", "up"), ("U4", "up"),
                       ("U4", "down")):  # U4 changed their mind: the last vote counts
        store.log_vote(team=TEAM, channel="C1", message_ts="9.1", user=user,
                       faq_id="replacement-card", vote=vote)
    store.log_vote(team=TEAM, channel="C1", message_ts="9.2", user="U1", faq_id="gone-faq",
                   vote="down")
    store.confirm_suggestion(team=TEAM, faq_id="sign-up", text="how do I join medicare",
                             user="U1")
    store.confirm_suggestion(team=TEAM, faq_id="sign-up", text="how do I join medicare",
                             user="U2")
    store.confirm_suggestion(team=TEAM, faq_id="part-b-premium", text="part b price",
                             user="U3")
    facts = report(store, Counting(answerer),
                   too_close=lambda text, faq_id: faq_id == "part-b-premium").facts()

    assert facts.learning and facts.log_readable and facts.grouped
    assert facts.unanswered_questions == 5
    bikes, canteen = facts.unanswered
    assert (bikes.question, bikes.count, bikes.people) == (
        "Where do I park my bike at the office?", 4, 4)
    assert (canteen.count, facts.unanswered_groups) == (1, 2)
    assert [(s.faq_id, s.users, s.too_close) for s in facts.suggestions] == [
        ("sign-up", 2, False), ("part-b-premium", 1, True)]
    assert facts.suggestions[0].faq_question == answerer.faq.by_id("sign-up").question
    [disliked] = facts.disliked  # the retired FAQ has nothing left to edit
    assert (disliked.faq_id, disliked.down, disliked.up) == ("replacement-card", 3, 1)
    assert len(facts.days) == CHART_DAYS and facts.days[-1].day == utcnow().date()
    assert (facts.days[-1].questions, facts.days[-1].answered) == (7, 2)
    assert sum(day.questions for day in facts.days) == 7


def test_a_second_open_embeds_nothing_and_an_open_embeds_at_most_max_texts(
        store: Store, answerer: Answerer) -> None:
    for n in range(300):
        ask(store, f"Where is meeting room {n}?", user=f"U{n % 7}")
    ask(store, "Where is meeting room 7?", user="U9")  # the most asked: kept
    counting = Counting(answerer)
    home = HomeReport(store=store, answerer=counting.answerer, too_close=lambda *_: False,
                      max_texts=50)
    first = home.facts()
    assert len(counting.embedded) == 50
    assert "where is meeting room 7?" in counting.embedded
    second = home.facts()
    assert len(counting.embedded) == 50  # all from the cache
    assert first == second and first.unanswered_questions == 301
    # ...the Home's own: the questions' cache holds none of its texts.
    assert counting.answerer.cache.get("where is meeting room 7?") is None


def test_an_embedder_down_still_opens_the_home(store: Store, answerer: Answerer) -> None:
    ask(store, "Where do I park my bike?")
    counting = Counting(answerer, failure=EmbeddingServiceError("the API is down", "wait"))
    facts = report(store, counting).facts()
    assert not facts.grouped and facts.unanswered == () and facts.unanswered_questions == 1


def test_without_question_text_learning_is_off_and_groups_have_no_text(
        tmp_path, answerer: Answerer) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'hashed.sqlite3'}", log_question_text=False)
    ask(store, "Where is the secret bunker?")
    ask(store, "where is the SECRET bunker? ", user="U2")
    counting = Counting(answerer)
    facts = report(store, counting).facts()
    store.close()
    assert not facts.learning
    [group] = facts.unanswered
    assert (group.question, group.count, group.people) == (None, 2, 2)
    assert counting.embedded == []


def test_a_database_down_says_so(answerer: Answerer) -> None:
    class Down:
        logs_question_text = True

        def log_since(self, since: object) -> None:
            return None

        def suggestions(self) -> list[object]:
            return []

    facts = report(Down(), Counting(answerer)).facts()  # type: ignore[arg-type]
    assert not facts.log_readable and facts.days == () and facts.unanswered == ()


def test_days_are_counted_in_utc_today_last(store: Store, answerer: Answerer) -> None:
    ask(store, "How do I get a replacement Medicare card?", "answer")
    later = utcnow() + timedelta(days=2)
    facts = report(store, Counting(answerer)).facts(now=later)
    assert [day.questions for day in facts.days][-3:] == [1, 0, 0]


def escalate(store: Store, key: str, question: str | None = "Who signs my form?") -> int:
    escalation, made = store.escalate(team=TEAM, channel="C1", question_key=key, asker="U1",
                                      question=question, private=False, experts="S0EXP")
    assert made
    return escalation.id


def test_escalations_waiting_however_old_and_answers_not_yet_an_faq(
        store: Store, answerer: Answerer) -> None:
    old, claimed, answered, resolved, saved, done = (
        escalate(store, f"5.{n}") for n in range(6))
    store.change_escalation(old, "placed", thread_channel="C1", thread_ts="5.0",
                            post_ts="6.0", permalink="https://example.slack.com/p60")
    store.change_escalation(claimed, "claim", user="U2")
    for eid in (answered, resolved, saved, done):
        store.change_escalation(eid, "answered", user="U3", text=f"answer {eid}")
    store.change_escalation(resolved, "resolve", user="U1")
    store.change_escalation(saved, "saved_as", faq_id="form-b")
    store.change_escalation(done, "saved_as", faq_id="form-c")
    store.change_escalation(done, "resolve", user="U1")
    later = utcnow() + timedelta(days=45, minutes=5)  # past the log's 30 days: still shown

    facts = report(store, Counting(answerer)).facts(now=later)
    assert [(e.id, e.claimed_by, e.answered_by) for e in facts.open_escalations] == [
        (old, None, None), (claimed, "U2", None), (answered, None, "U3"), (saved, None, "U3")]
    assert facts.open_escalation_count == 4
    first = facts.open_escalations[0]
    assert (first.question, first.asker, first.permalink) == (
        "Who signs my form?", "U1", "https://example.slack.com/p60")
    assert 45 * 24 * 60 <= first.minutes <= 45 * 24 * 60 + 6
    assert [(r.id, r.answer) for r in facts.unsaved_replies] == [
        (resolved, f"answer {resolved}"), (answered, f"answer {answered}")]  # latest first
    assert facts.unsaved_reply_count == 2


def test_waiting_lists_hold_the_first_few_and_count_them_all(
        store: Store, answerer: Answerer) -> None:
    for n in range(12):
        eid = escalate(store, f"7.{n}", None)
        if n % 2:
            store.change_escalation(eid, "answered", user="U3", text="see the wiki")
    home = HomeReport(store=store, answerer=Counting(answerer).answerer,
                      too_close=lambda *_: False, shown=3)
    facts = home.facts()
    assert (len(facts.open_escalations), facts.open_escalation_count) == (3, 12)
    assert (len(facts.unsaved_replies), facts.unsaved_reply_count) == (3, 6)
    assert facts.open_escalations[0].question is None  # LOG_QUESTION_TEXT=false at the time


def test_one_open_embeds_within_its_time_and_the_next_open_goes_on(
        store: Store, answerer: Answerer) -> None:
    """Hostile text can't make an open slow: the embedding one open may start is bounded in
    time (a clock that moves a second per embedder call here), texts are embedded by their
    beginning, shortest first, and a later open picks up what is left."""
    from bot.report.home import TEXT_CHARS

    short = [f"where is meeting room {n}?" for n in range(3)]
    long = [f"{n} " + "notwithstanding " * 300 for n in range(30)]
    for text in [*long, *short]:
        ask(store, text)
    now = [0.0]
    counting = Counting(answerer)
    embedder = counting.answerer.embedder
    inner = embedder.embed

    def slow_embed(texts: Sequence[str]) -> np.ndarray:
        now[0] += 1.0
        return inner(texts)

    embedder.embed = slow_embed
    home = HomeReport(store=store, answerer=counting.answerer, too_close=lambda *_: False,
                      shown=50, embed_seconds=2.5, clock=lambda: now[0])

    def grouped() -> int:
        return sum(group.count for group in home.facts().unanswered)

    assert grouped() < 33 and now[0] == 3.0  # three calls began within 2.5 s; then it stopped
    assert set(short) <= set(counting.embedded)  # the short ones went first
    assert max(map(len, counting.embedded)) == TEXT_CHARS
    assert grouped() == 33  # the next open embedded the rest
    assert home.facts().unanswered_questions == 33
