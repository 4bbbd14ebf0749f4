"""Two processes' worth of ``LiveFaq`` on one real database, for the tests of edits and
learning."""

from __future__ import annotations

import pytest

from bot.faq.answerer import Answerer
from bot.live import LiveFaq
from bot.storage import Store


def fresh_answerer(answerer: Answerer, embedder) -> Answerer:
    """The sample FAQ in an answerer of the test's own, since LiveFaq swaps its FAQ."""
    return Answerer(faq=answerer.faq, embedder=embedder, min_score=answerer.min_score,
                    margin=answerer.margin)


@pytest.fixture
def two(answerer, embedder, database_url):
    """Two processes' worth of LiveFaq sharing one database."""
    stores = [Store.from_url(database_url) for _ in range(2)]
    lives = [LiveFaq(fresh_answerer(answerer, embedder), s) for s in stores]
    for live in lives:
        live.refresh()
    yield lives
    for s in stores:
        s.close()
