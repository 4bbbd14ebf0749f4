"""A 200 that isn't JSON is what proxies and load balancers serve during a blip: it is
retried within the live budget like a 5xx, and a service that keeps answering garbage
still fails with a message naming what came back and the fix."""

from __future__ import annotations

import numpy as np
import pytest

from bot.faq.embedders.api import LIVE
from tests.faq.embedders.test_api_embedder import TEXTS, TOKEN, client, failure
from tests.standins.inference_standin import Fault

BLIPS = {
    "html": Fault.garbage(),
    "empty": Fault.garbage(body=b"", content_type="text/plain"),
    "truncated-json": Fault.garbage(body=b'[[0.1, 0.2', content_type="application/json"),
}




@pytest.mark.parametrize("blip", BLIPS.values(), ids=BLIPS.keys())
def test_a_non_json_200_is_retried_and_then_answers(inference, fake, embedder, blip) -> None:
    inference.queue(blip, blip)
    vectors = client(inference, fake).embed(TEXTS)
    np.testing.assert_allclose(vectors, embedder.embed(TEXTS), atol=1e-5)
    assert inference.count() == 3 and len(fake.slept) == 2
    assert sum(fake.slept) < LIVE.budget


def test_persistent_garbage_fails_within_the_budget_with_a_clear_message(inference,
                                                                         fake) -> None:
    inference.queue(*[Fault.garbage()] * 100)
    started = fake.clock()
    message = failure(client(inference, fake))
    assert fake.clock() - started <= LIVE.budget
    assert 1 < inference.count() < 100
    assert "sent an unusable answer: not JSON (text/html, 24 bytes)" in message
    assert f"gave up after {inference.count()} attempts" in message
    assert "point INFERENCE_API_URL at a feature-extraction" in message
    assert TOKEN not in message
