"""Fixtures of the Inference API tests: the stand-in, and a clock that sleeps in no time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faq.embedders.test_api_embedder import TOKEN, FakeTime
from tests.standins.inference_standin import InferenceStandIn


@pytest.fixture
def inference(embedder) -> Iterator[InferenceStandIn]:
    """The Inference API stand-in, embedding with the real local model, requiring TOKEN."""
    with InferenceStandIn(embedder.embed, token=TOKEN) as server:
        yield server


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()
