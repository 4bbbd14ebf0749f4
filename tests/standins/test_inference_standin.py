"""Quick checks that the inference stand-in speaks both wire formats and misbehaves on cue.

Why: the client's retry/validation tests are only as good as the fake they run against.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests

from tests.standins.inference_standin import Fault, InferenceStandIn, Request, hash_embed

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
TIMEOUT = (1.0, 1.0)
TOKEN = "hf_test_token_not_real"


@pytest.fixture
def hashed() -> Iterator[InferenceStandIn]:
    """The stand-in on ``hash_embed``, without a token."""
    with InferenceStandIn(hash_embed) as server:
        yield server


def hf_post(server: InferenceStandIn, inputs: object, **kw: object) -> requests.Response:
    url = server.hf_url.format(model=MODEL)
    return requests.post(url, json={"inputs": inputs}, timeout=TIMEOUT, **kw)  # type: ignore[arg-type]


def tei_post(server: InferenceStandIn, body: dict[str, object]) -> requests.Response:
    return requests.post(server.tei_url, json=body, timeout=TIMEOUT)


# --- routes -----------------------------------------------------------------------------


def test_urls_reach_their_routes_on_loopback(hashed: InferenceStandIn) -> None:
    """The advertised URLs are served: the HF template (once ``{model}`` is filled in, as the
    client does) and TEI's /embed both answer, on 127.0.0.1 at the stand-in's port."""
    for url in (hashed.hf_url, hashed.tei_url):
        parts = urlsplit(url)
        assert (parts.scheme, parts.hostname, parts.port) == ("http", "127.0.0.1", hashed.port)
    assert hashed.hf_url.count("{model}") == 1
    assert requests.post(hashed.hf_url.format(model=MODEL), json={"inputs": "x"},
                         timeout=TIMEOUT).status_code == 200
    assert tei_post(hashed, {"inputs": "x"}).status_code == 200
    assert [r.path for r in hashed.requests] == [
        f"/hf-inference/models/{MODEL}/pipeline/feature-extraction", "/embed"]
    other = requests.post(hashed.hf_url.format(model="BAAI/bge-small-en-v1.5"),
                          json={"inputs": "x"}, timeout=TIMEOUT)
    assert other.status_code == 200  # any model id routes, as on the real router


def test_hf_list_input(hashed: InferenceStandIn) -> None:
    texts = ["how do I reset my password?", "where is the VPN guide?"]
    resp = hf_post(hashed, texts)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    got = np.asarray(resp.json(), dtype=np.float32)
    assert got.shape == (2, 384)
    np.testing.assert_allclose(got, hash_embed(texts), rtol=1e-6)


def test_hf_single_string_is_flat(hashed: InferenceStandIn) -> None:
    resp = hf_post(hashed, "hello")
    vec = resp.json()
    assert isinstance(vec, list) and isinstance(vec[0], float)
    np.testing.assert_allclose(vec, hash_embed(["hello"])[0], rtol=1e-6)


def test_tei_always_list_of_lists(hashed: InferenceStandIn) -> None:
    single = tei_post(hashed, {"inputs": "hello", "normalize": True, "truncate": True})
    assert np.asarray(single.json()).shape == (1, 384)
    many = tei_post(hashed, {"inputs": ["a", "b", "c"]})
    np.testing.assert_allclose(many.json(), hash_embed(["a", "b", "c"]), rtol=1e-6)


def test_tei_normalize_flag() -> None:
    with InferenceStandIn(lambda texts: 2 * hash_embed(texts)) as server:
        normed = np.asarray(tei_post(server, {"inputs": ["x"]}).json())
        raw = np.asarray(tei_post(server, {"inputs": ["x"], "normalize": False}).json())
    assert np.linalg.norm(normed[0]) == pytest.approx(1.0, abs=1e-5)
    assert np.linalg.norm(raw[0]) == pytest.approx(2.0, abs=1e-5)


def test_bad_bodies_and_routes(hashed: InferenceStandIn) -> None:
    assert tei_post(hashed, {"inputs": []}).status_code == 422
    assert tei_post(hashed, {"inputs": [1, 2]}).status_code == 422
    bad = requests.post(hashed.tei_url, data=b"not json", timeout=TIMEOUT)
    assert bad.status_code == 422 and "error" in bad.json()
    missing = requests.post(f"{hashed.base_url}/nope", json={}, timeout=TIMEOUT)
    assert missing.status_code == 404
    assert requests.get(f"{hashed.base_url}/health", timeout=TIMEOUT).status_code == 200


# --- auth and recording -----------------------------------------------------------------


def test_auth() -> None:
    with InferenceStandIn(hash_embed, token=TOKEN) as server:
        url = server.hf_url.format(model=MODEL)
        cases = [None, "Bearer wrong", TOKEN, f"bearer {TOKEN}"]
        for header in cases:
            headers = {"Authorization": header} if header else {}
            resp = requests.post(url, json={"inputs": "x"}, headers=headers, timeout=TIMEOUT)
            assert resp.status_code == 401
            assert resp.json() == {"error": "Invalid credentials in Authorization header"}
        ok = requests.post(
            url, json={"inputs": "x"}, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=TIMEOUT
        )
        assert ok.status_code == 200
        records = server.requests
        assert [r.authorized for r in records] == [False, False, False, False, True]
        assert all(TOKEN not in repr(r) for r in records)
        assert records[-1].headers["Authorization"] == "<redacted>"
        assert TOKEN not in repr(server)


def test_records_and_count(hashed: InferenceStandIn) -> None:
    hf_post(hashed, ["a"])
    tei_post(hashed, {"inputs": "b", "truncate": True})
    tei_post(hashed, {"inputs": "c"})
    assert hashed.count() == 3
    assert hashed.count("/embed") == 2
    assert hashed.count("/hf-inference/models/sentence-transformers/") == 1
    first, second, third = hashed.requests
    assert isinstance(first, Request)
    assert first.body == {"inputs": ["a"]} and first.authorized is None
    assert second.body == {"inputs": "b", "truncate": True}
    assert first.time <= second.time <= third.time
    hashed.reset()
    assert hashed.count() == 0


# --- faults -----------------------------------------------------------------------------


def test_faults_consumed_in_order_then_normal(hashed: InferenceStandIn) -> None:
    hashed.queue(
        Fault.status(503, {"error": "Model is loading", "estimated_time": 0.2}),
        Fault.rate_limited("1"),
    )
    assert hashed.pending_faults == 2
    first = hf_post(hashed, ["q"])
    assert first.status_code == 503
    assert first.json() == {"error": "Model is loading", "estimated_time": 0.2}
    second = tei_post(hashed, {"inputs": ["q"]})
    assert second.status_code == 429 and second.headers["Retry-After"] == "1"
    assert hf_post(hashed, ["q"]).status_code == 200
    assert hashed.pending_faults == 0
    assert hashed.count() == 3


def test_loading_constructor(hashed: InferenceStandIn) -> None:
    hashed.queue(Fault.loading(0.5))
    assert hf_post(hashed, "q").json() == {"error": "Model is loading", "estimated_time": 0.5}


@pytest.mark.parametrize("code", [500, 502, 504, 400, 401, 402, 403, 404, 410, 422])
def test_status_codes(hashed: InferenceStandIn, code: int) -> None:
    hashed.queue(Fault.status(code))
    resp = tei_post(hashed, {"inputs": "q"})
    assert resp.status_code == code
    assert resp.json() == {"error": HTTPStatus(code).phrase}


def test_slow_times_out_without_blocking_others(hashed: InferenceStandIn) -> None:
    hashed.queue(Fault.slow(0.5))
    errors: list[BaseException] = []

    def slow_call() -> None:
        try:
            requests.post(hashed.tei_url, json={"inputs": "q"}, timeout=(1.0, 0.2))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    worker = threading.Thread(target=slow_call)
    worker.start()
    hashed.wait_faults_taken()  # the slow request holds the fault before the other is sent
    started = time.monotonic()
    assert tei_post(hashed, {"inputs": "other"}).status_code == 200
    assert time.monotonic() - started < 0.3
    worker.join(2)
    assert len(errors) == 1 and isinstance(errors[0], requests.exceptions.ReadTimeout)


def test_slow_answers_normally_within_timeout(hashed: InferenceStandIn) -> None:
    hashed.queue(Fault.slow(0.05))
    resp = hf_post(hashed, ["q"])
    assert resp.status_code == 200 and len(resp.json()) == 1


def test_drop(hashed: InferenceStandIn) -> None:
    hashed.queue(Fault.drop())
    with pytest.raises(requests.exceptions.ConnectionError):
        hf_post(hashed, ["q"])
    assert hf_post(hashed, ["q"]).status_code == 200


def test_garbage(hashed: InferenceStandIn) -> None:
    hashed.queue(Fault.garbage())
    resp = hf_post(hashed, ["q"])
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/html"
    assert resp.content == b"<html>bad gateway</html>"
    with pytest.raises(requests.exceptions.JSONDecodeError):
        resp.json()


def test_wrong_dim(hashed: InferenceStandIn) -> None:
    hashed.queue(Fault.wrong_dim(), Fault.wrong_dim(400))
    assert np.asarray(hf_post(hashed, ["a", "b"]).json()).shape == (2, 383)
    assert np.asarray(hf_post(hashed, "a").json()).shape == (400,)


def test_wrong_count(hashed: InferenceStandIn) -> None:
    hashed.queue(Fault.wrong_count(), Fault.wrong_count(), Fault.wrong_count())
    assert np.asarray(hf_post(hashed, ["a", "b", "c"]).json()).shape == (2, 384)
    assert np.asarray(hf_post(hashed, "a").json()).shape == (2, 384)
    assert np.asarray(tei_post(hashed, {"inputs": ["a"]}).json()).shape == (2, 384)


def test_nan(hashed: InferenceStandIn) -> None:
    hashed.queue(Fault.nan())
    got = np.asarray(tei_post(hashed, {"inputs": ["a", "b"]}).json(), dtype=np.float32)
    assert got.shape == (2, 384)
    assert np.isnan(got).sum() == 1


def test_token_level_mean_pools_to_normal(hashed: InferenceStandIn) -> None:
    hashed.queue(Fault.token_level(), Fault.token_level())
    texts = ["a", "b"]
    got = np.asarray(hf_post(hashed, texts).json(), dtype=np.float32)
    assert got.shape == (2, 3, 384)
    np.testing.assert_allclose(got.mean(axis=1), hash_embed(texts), atol=1e-6)
    single = np.asarray(hf_post(hashed, "a").json(), dtype=np.float32)
    assert single.shape == (1, 3, 384)


def test_fault_validation(hashed: InferenceStandIn) -> None:
    with pytest.raises(ValueError):
        Fault("explode")
    with pytest.raises(TypeError):
        hashed.queue("503")  # type: ignore[arg-type]


def test_stop_closes_keepalive_connections() -> None:
    server = InferenceStandIn(hash_embed).start()
    url = server.tei_url
    with requests.Session() as session:
        assert session.post(url, json={"inputs": "a"}, timeout=TIMEOUT).status_code == 200
        server.stop()
        with pytest.raises(requests.exceptions.ConnectionError):
            session.post(url, json={"inputs": "a"}, timeout=TIMEOUT)
