"""Fixtures of the embedder tests: the Inference API stand-in, a clock that sleeps in no
time, and a model cache of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The optimised-model cache, empty, in the test's folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "faqbot" / "onnx"
