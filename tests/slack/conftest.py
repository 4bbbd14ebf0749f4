"""Fixtures for the Slack front end's tests."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.faq.answerer import Answerer, load_answerer


@pytest.fixture(scope="session")
def answerer(embedder) -> Answerer:
    """The real answerer on the bundled sample, with the real local embedder."""
    return load_answerer(Settings.from_env({"EMBEDDING_BACKEND": "local"}), embedder=embedder)
