"""Learning phrasings on a real database: only the asker's own pick counts, distinct users are
counted once, FAQ_AUTO_LEARN accepts at N of them unless the phrasing sits nearer another
FAQ, and an accepted phrasing turns choices into a single answer on every process."""

from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.faq.policy import Decision
from bot.live import Learner, LiveFaq
from bot.storage import ACCEPTED, REJECTED, Store
from tests.conftest import logged_answer
from tests.live.conftest import fresh_answerer

ASKED = "How can Medicare help me?"  # the sample offers three choices for this


def asked(live: LiveFaq, *, user: str, text: str = ASKED, reply_ts: str = "2.000001",
          channel: str = "C1") -> str:
    """``user`` asked ``text`` and the bot replied with ``reply_ts``, logged as the bot logs
    it: with what it offered."""
    live.store.log_question(team="T1", channel=channel, ts="1.000001", user=user, text=text,
                            answer=live.answerer.ask(text), latency_ms=5, reply_ts=reply_ts)
    return reply_ts


def test_the_askers_pick_becomes_a_suggestion_and_acceptance_a_single_answer(two) -> None:
    a, b = two
    offered = a.answerer.ask(ASKED)
    assert offered.decision == Decision.CHOICES
    picked = offered.shown[1].id
    learner = Learner(a)
    reply = asked(a, user="U1")
    suggestion = learner.confirmed(team="T1", channel="C1", reply_ts=reply, user="U1",
                                   faq_id=picked)
    assert suggestion is not None and suggestion.users == 1 and suggestion.text == ASKED
    assert [s.id for s in a.store.suggestions()] == [suggestion.id]
    learner.accept(suggestion.id, by="U9")
    assert a.store.suggestion(suggestion.id).status == ACCEPTED
    assert b.refresh()
    answer = b.answerer.ask(ASKED)
    assert answer.decision == Decision.ANSWER and answer.shown[0].id == picked
    with pytest.raises(UserError, match="accepted already"):
        learner.accept(suggestion.id, by="U9")


def test_someone_elses_click_teaches_nothing(two) -> None:
    a, _ = two
    reply = asked(a, user="U1")
    learner = Learner(a)
    assert learner.confirmed(team="T1", channel="C1", reply_ts=reply, user="U2",
                             faq_id="premium-help") is None
    assert learner.confirmed(team="T1", channel="C2", reply_ts=reply, user="U1",
                             faq_id="premium-help") is None  # another channel's message
    assert a.store.suggestions() == []


def test_auto_learn_counts_distinct_users(two) -> None:
    a, _ = two
    learner = Learner(a, auto_accept=2)
    target = a.answerer.ask(ASKED).shown[0].id
    first = asked(a, user="U1", reply_ts="2.000001")
    for _ in range(2):  # one user clicking twice is one confirmation
        learner.confirmed(team="T1", channel="C1", reply_ts=first, user="U1", faq_id=target)
    (pending,) = a.store.suggestions()
    assert pending.users == 1 and pending.status == "pending"
    second = asked(a, user="U2", reply_ts="3.000001")
    learner.confirmed(team="T1", channel="C1", reply_ts=second, user="U2", faq_id=target)
    assert a.store.suggestion(pending.id).status == ACCEPTED
    assert ASKED in a.faq.by_id(target).alternates


def test_a_phrasing_nearer_another_faq_is_never_accepted_by_itself(two) -> None:
    a, _ = two
    learner = Learner(a, auto_accept=1)
    text = "How do I get a replacement Medicare card?"  # an existing FAQ's own question
    other = next(h.id for h in a.answerer.ask(text).candidates if h.question != text)
    assert learner.too_close(text, other)
    reply = asked(a, user="U1", text=text)
    learner.confirmed(team="T1", channel="C1", reply_ts=reply, user="U1", faq_id=other)
    (pending,) = a.store.suggestions()
    assert pending.status == "pending"
    with pytest.raises(UserError, match="already a phrasing"):  # and by hand, it's explained
        learner.accept(pending.id, by="U9")


def test_a_held_back_phrasing_is_accepted_once_its_faq_has_moved(two) -> None:
    a, _ = two
    learner = Learner(a, auto_accept=1)
    text = "How do I get a replacement Medicare card?"
    rival = next(r.id for r in a.faq.rows if r.question == text)
    runner_up = next(h.id for h in a.answerer.ask(text).candidates if h.id != rival)
    held = learner.confirmed(team="T1", channel="C1", user="U1", faq_id=runner_up,
                             reply_ts=asked(a, user="U1", text=text))
    assert a.store.suggestion(held.id).status == "pending"
    # Another FAQ's pending suggestion, left by hand (auto off): no revisit of runner_up's
    # touches it.
    elsewhere = Learner(a).confirmed(team="T1", channel="C1", user="U3", faq_id=rival,
                                     reply_ts=asked(a, user="U3", text="my card is lost",
                                                    reply_ts="4.000001"))
    a.retire(rival, editor="U9")  # the FAQ it was closer to is gone: now it is the nearest
    assert not learner.too_close(text, runner_up)
    alike = "How can I get a replacement Medicare card?"
    assert not learner.too_close(alike, runner_up)
    learner.confirmed(team="T1", channel="C1", user="U2", faq_id=runner_up,
                      reply_ts=asked(a, user="U2", text=alike, reply_ts="3.000001"))
    assert alike in a.faq.by_id(runner_up).alternates
    assert a.store.suggestion(held.id).status == ACCEPTED  # looked at again after that accept
    assert text in a.faq.by_id(runner_up).alternates
    assert a.store.suggestion(elsewhere.id).status == "pending"


def test_reject_and_unknown_ids(two) -> None:
    a, _ = two
    learner = Learner(a)
    reply = asked(a, user="U1")
    suggestion = learner.confirmed(team="T1", channel="C1", reply_ts=reply, user="U1",
                                   faq_id=a.answerer.ask(ASKED).shown[0].id)
    learner.reject(suggestion.id, by="U9")
    assert a.store.suggestion(suggestion.id).status == REJECTED
    assert a.store.suggestions() == []
    with pytest.raises(UserError, match="no suggestion 999"):
        learner.accept(999, by="U9")


def test_without_question_text_nothing_is_learned(answerer, embedder, tmp_path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'x.sqlite3'}", log_question_text=False)
    live = LiveFaq(fresh_answerer(answerer, embedder), store)
    try:
        learner = Learner(live, auto_accept=1)
        reply = asked(live, user="U1")
        assert not learner.enabled
        assert learner.confirmed(team="T1", channel="C1", reply_ts=reply, user="U1",
                                 faq_id="premium-help") is None
    finally:
        store.close()


def test_a_pick_of_an_faq_the_reply_never_offered_teaches_nothing(two) -> None:
    a, _ = two
    learner = Learner(a, auto_accept=1)
    reply = asked(a, user="U1")
    answer = a.answerer.ask(ASKED)
    shown = [hit.id for hit in answer.shown]
    # Offerable: the three shown, then one more (a 👎 on the picked answer offers the next
    # closest); not the candidates after that.
    offerable = list(dict.fromkeys([*shown, *(h.id for h in answer.candidates)]))[:4]
    never = next(r.id for r in a.faq.rows if r.id not in offerable)
    assert learner.confirmed(team="T1", channel="C1", reply_ts=reply, user="U1",
                             faq_id=never) is None
    silent = asked(a, user="U1", text="lol who broke the build", reply_ts="9.000001")
    assert a.answerer.ask("lol who broke the build").decision == Decision.NONE
    top = a.answerer.ask("lol who broke the build").candidates[0].id
    assert learner.confirmed(team="T1", channel="C1", reply_ts=silent, user="U1",
                             faq_id=top) is None  # a reply that showed no FAQ offers none
    assert a.store.suggestions() == []


def test_alternatives_are_offered_to_the_asker_only(two) -> None:
    a, _ = two
    store = a.store
    store.log_question(team="T1", channel="C1", ts="1.1", user="U1", text="lost my card",
                       answer=logged_answer("answer", ("replacement-card", 0.7),
                                            ("premium-help", 0.5), ("gone-faq", 0.4),
                                            ("sign-up", 0.3), ("what-is-medicare", 0.2)),
                       latency_ms=1, reply_ts="5.5")
    learner = Learner(a)
    offered = learner.alternatives(team="T1", channel="C1", reply_ts="5.5", user="U1",
                                   instead_of="replacement-card")
    assert offered == ["premium-help", "sign-up", "what-is-medicare"]  # gone-faq: no such FAQ
    assert learner.alternatives(team="T1", channel="C1", reply_ts="5.5", user="U2",
                                instead_of="replacement-card") == []


def test_an_embedder_failure_leaves_the_suggestion_pending(two) -> None:
    from bot.errors import EmbeddingServiceError

    a, _ = two

    class Down:
        model_id, dim = a.answerer.embedder.model_id, a.answerer.embedder.dim

        def embed(self, texts):
            raise EmbeddingServiceError("the embedding service is down", "try again later")

    reply = asked(a, user="U1")
    picked = a.answerer.ask(ASKED).shown[0].id
    a.answerer.swap(a.answerer.faq, Down())  # a new model starts with nothing cached
    learner = Learner(a, auto_accept=1)
    suggestion = learner.confirmed(team="T1", channel="C1", reply_ts=reply, user="U1",
                                   faq_id=picked)
    assert suggestion is not None
    assert a.store.suggestion(suggestion.id).status == "pending"


def test_a_pick_among_maybe_one_of_these_on_a_miss_teaches(two) -> None:
    a, _ = two
    missed = "is my card lost forever"
    answer = a.answerer.ask(missed)
    assert answer.decision == Decision.NONE and answer.near  # a miss, with FAQs near it
    reply = asked(a, user="U1", text=missed, reply_ts="7.000001")
    learner = Learner(a)
    suggestion = learner.confirmed(team="T1", channel="C1", reply_ts=reply, user="U1",
                                   faq_id=answer.near[0].id)
    assert suggestion is not None and suggestion.text == missed
    never = next(h.id for h in answer.candidates if h not in answer.near)
    assert learner.confirmed(team="T1", channel="C1", reply_ts=reply, user="U1",
                             faq_id=never) is None  # not offered on that reply
