"""Learning phrasings from use: the asker's own choice click or 👍 confirms their question as
a phrasing of that FAQ; accepted, it becomes an alternate through the same edit path as any
other change, live on every process within seconds.

``FAQ_AUTO_LEARN=N`` accepts a suggestion once N distinct users confirmed it, unless it sits
closer to another FAQ's phrasings than to its own FAQ's: adding it would move the boundary
between the two, so that one waits, for an editor or until phrasings accepted since bring it
within the margin.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from bot.errors import UserError
from bot.faq.edits import same_words
from bot.faq.policy import Decision
from bot.faq.question import clean_question
from bot.faq.revisions import AUTO_EDITOR, seen
from bot.storage import ACCEPTED, PENDING, REJECTED, AskedQuestion, Suggestion

if TYPE_CHECKING:
    from bot.faq.sources import FaqRow
    from bot.live.faq import LiveFaq

log = logging.getLogger(__name__)

CHOICES = 3  # as many as a choices reply shows
REVISIT = 20  # an FAQ's pending suggestions looked at again after it learned a phrasing


class Learner:
    def __init__(self, live: LiveFaq, *, auto_accept: int = 0) -> None:
        self.live = live
        self.store = live.store
        self.auto_accept = auto_accept

    @property
    def enabled(self) -> bool:
        """Learning needs the question's text: off under LOG_QUESTION_TEXT=false."""
        return self.store.logs_question_text

    def confirmed(self, *, team: str, channel: str, reply_ts: str, user: str,
                  faq_id: str) -> Suggestion | None:
        """``user`` picked ``faq_id`` on (or voted 👍 on) the bot's reply ``reply_ts``. If they
        asked the question it answered, that question is a suggested phrasing of the FAQ."""
        if not self.enabled:
            return None
        asked = self.store.asked_question(team=team, channel=channel, reply_ts=reply_ts,
                                          user=user)
        if asked is None or asked.text is None or faq_id not in _offerable(asked):
            return None  # not their question, no text kept, or an FAQ it was never offered
        text = asked.text
        row = self.live.faq.by_id(faq_id)
        if row is None or self._is_phrasing(row, text):
            return None
        suggestion = self.store.confirm_suggestion(team=team, faq_id=faq_id, text=text,
                                                   user=user)
        if (suggestion is not None and suggestion.status == PENDING and self.auto_accept
                and suggestion.users >= self.auto_accept
                and self._auto_accept(suggestion)):
            self._revisit(suggestion.faq_id)
        return suggestion

    def _auto_accept(self, suggestion: Suggestion) -> bool:
        """Accept unless too close; an embedder or database failure leaves it pending."""
        try:
            if self.too_close(suggestion.text, suggestion.faq_id):
                log.info("suggestion %d not accepted by itself: it is closer to another FAQ "
                         "than to %s", suggestion.id, suggestion.faq_id)
                return False
            self.accept(suggestion.id, by=AUTO_EDITOR)
        except UserError as error:
            log.warning("suggestion %d not accepted by itself: %s", suggestion.id,
                        error.problem)
            return False
        return True

    def _revisit(self, faq_id: str) -> None:
        """An accepted phrasing moves its FAQ towards the questions held back from it as too
        close, which may now sit within the margin, where the askers' picks settle it: look
        again at that FAQ's pending suggestions confirmed by enough people. The most
        confirmed first, a bounded number, and none after a failure, so one click never
        waits on a backlog or an outage."""
        try:
            for held in self.store.suggestions(PENDING, faq_id=faq_id,
                                               at_least=self.auto_accept, limit=REVISIT):
                if not self.too_close(held.text, held.faq_id):
                    self.accept(held.id, by=AUTO_EDITOR)
        except UserError as error:
            log.warning("pending suggestions of %s not looked at again: %s", faq_id,
                        error.problem)

    def alternatives(self, *, team: str, channel: str, reply_ts: str, user: str,
                     instead_of: str) -> list[str]:
        """After the asker's 👎 on the reply ``reply_ts``: the next FAQs that came closest to
        their question (at most three), so they can pick the right one, and teach it."""
        asked = self.store.asked_question(team=team, channel=channel, reply_ts=reply_ts,
                                          user=user)
        if asked is None:
            return []
        faq = self.live.faq
        return [i for i in asked.candidates if i != instead_of and faq.by_id(i)][:CHOICES]

    def too_close(self, text: str, faq_id: str) -> bool:
        """True when the bot itself ranks another FAQ clearly above ``faq_id`` for ``text``
        (by at least its choices margin, so it would answer with that FAQ alone): adding
        ``text`` to ``faq_id`` would move a boundary the FAQ draws confidently, so an editor
        decides. Within the margin the bot was unsure, and the asker's pick settles it."""
        question, _ = clean_question(text)
        answerer = self.live.answerer
        faq, scores = answerer.faq_scores(answerer.embed_query(question))
        row = faq.row_of(faq_id)
        if row is None:  # the FAQ is gone: nothing to add it to
            return True
        own = float(scores[row])
        scores[row] = -np.inf
        return float(scores.max()) - own >= answerer.margin

    def accept(self, suggestion_id: int, *, by: str) -> FaqRow:
        """Add the suggestion as an alternate of its FAQ; ``UserError`` says why not."""
        suggestion = self._pending(suggestion_id)
        self.live.refresh()  # the FAQ's row as every process has it now, not 2 s ago
        row = self.live.faq.by_id(suggestion.faq_id)
        if row is None:
            raise UserError(f"the FAQ {suggestion.faq_id!r} of suggestion {suggestion_id} is "
                            "gone", f"reject it with `faqbot faq learn --reject {suggestion_id}`")
        if not self._is_phrasing(row, suggestion.text):
            row = self.live.save(replace(row, alternates=(*row.alternates, suggestion.text)),
                                 editor=by, replacing=row.id, since=seen(row))
        self.store.decide_suggestion(suggestion_id, ACCEPTED, by=by)
        log.info("suggestion %d accepted by %s as a phrasing of %s", suggestion_id, by, row.id)
        return row

    def reject(self, suggestion_id: int, *, by: str) -> Suggestion:
        suggestion = self._pending(suggestion_id)
        self.store.decide_suggestion(suggestion_id, REJECTED, by=by)
        return suggestion

    def _pending(self, suggestion_id: int) -> Suggestion:
        suggestion = self.store.suggestion(suggestion_id)
        if suggestion is None:
            raise UserError(f"there is no suggestion {suggestion_id}",
                            "see them with `faqbot faq learn`")
        if suggestion.status != PENDING:
            raise UserError(f"suggestion {suggestion_id} was {suggestion.status} already",
                            "see the pending ones with `faqbot faq learn`")
        return suggestion

    @staticmethod
    def _is_phrasing(row: FaqRow, text: str) -> bool:
        return same_words(text) in {same_words(p) for p in row.phrasings}


def _offerable(asked: AskedQuestion) -> tuple[str, ...]:
    """The FAQs a reply to ``asked`` could have put before its asker: what it showed (logged
    first), and the next closest ``alternatives`` offers after a 👎. On a miss, what "Maybe
    one of these?" showed, if anything."""
    if asked.decision == Decision.NONE:
        return asked.near
    return asked.candidates[:CHOICES + 1]
