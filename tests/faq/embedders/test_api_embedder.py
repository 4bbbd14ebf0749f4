"""InferenceApiEmbedder against the inference stand-in: every fault a remote API throws.

Why: EMBEDDING_BACKEND=api is the production path of most deployments. Each fault must be
retried to success or end in a clear EmbeddingServiceError within the time budget, with
exact request counts, and the token must never show. Sleeps run in virtual time (a fake
``sleep`` that advances a fake ``clock``), except in one test that really waits 0.2 s.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from bot.config import SAMPLE_DATASET, Settings
from bot.errors import EmbeddingServiceError, UserError
from bot.faq.answerer import load_answerer
from bot.faq.dataset import DATA_FILE, load_faq
from bot.faq.embedders import create_embedder
from bot.faq.embedders.api import BUILD, LIVE, InferenceApiEmbedder, RetryPolicy, probe
from bot.faq.embedders.api_vectors import InvalidVectors, unit_rows
from tests.conftest import SAMPLE_SOURCE, clean_env, run_cli
from tests.standins.inference_standin import Fault, InferenceStandIn

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
TOKEN = "hf_testDoNotLeak0123456789abcdef"
TEXTS = ["How do I get a replacement Medicare card?", "what does part b cost", "hello"]


class FakeTime:
    """``sleep`` records and advances ``clock``, so budgets hold without real waiting."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def clock(self) -> float:
        return time.monotonic() + sum(self.slept)


def client(server: InferenceStandIn, fake: FakeTime | None = None, *, policy: RetryPolicy = LIVE,
           tei: bool = False, token: str = TOKEN, **changes: object) -> InferenceApiEmbedder:
    """An embedder on the stand-in; with ``fake``, its policy runs in virtual time."""
    if fake is not None:
        changes.update(sleep=fake.sleep, clock=fake.clock)
    url = server.tei_url if tei else server.hf_url
    return InferenceApiEmbedder(url=url, model_id=MODEL, token=token,
                                policy=replace(policy, **changes))


def settings(server: InferenceStandIn, **overrides: str) -> Settings:
    env = {"EMBEDDING_BACKEND": "api", "HF_TOKEN": TOKEN, "INFERENCE_API_URL": server.hf_url}
    return Settings.from_env({**env, **overrides})


def failure(embedder: InferenceApiEmbedder, texts: list[str] = TEXTS) -> str:
    with pytest.raises(EmbeddingServiceError) as caught:
        embedder.embed(texts)
    return caught.value.one_line()


# --- the happy path -----------------------------------------------------------------------


@pytest.mark.parametrize("tei", [False, True], ids=["hf-router", "tei-embed"])
def test_same_vectors_as_local(inference, embedder, tei):
    api = client(inference, tei=tei)
    vectors = api.embed(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(vectors, embedder.embed(TEXTS), atol=1e-5)
    assert api.dim == 384 and inference.count() == 1
    (request,) = inference.requests
    assert request.body == {"inputs": TEXTS, "truncate": True}
    assert request.authorized is True


def test_dim_is_learned_with_one_probe(inference):
    api = client(inference)
    assert api.dim == 384 and inference.count() == 1
    api.embed(["a"])
    assert api.dim == 384 and inference.count() == 2
    assert api.embed([]).shape == (0, 384) and inference.count() == 2


def test_build_sends_batches_of_at_most_32(inference):
    api = create_embedder(settings(inference), for_build=True)
    assert isinstance(api, InferenceApiEmbedder) and api.policy == BUILD
    texts = [f"question number {i}" for i in range(70)]
    assert api.embed(texts).shape == (70, 384)
    assert [len(r.body["inputs"]) for r in inference.requests] == [32, 32, 6]


def test_live_policy_by_default(inference):
    assert create_embedder(settings(inference)).policy == LIVE


def test_threads_share_one_embedder(inference, embedder):
    api = client(inference)
    questions = [f"question number {i}" for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        vectors = np.stack(list(pool.map(lambda q: api.embed([q])[0], questions)))
    np.testing.assert_allclose(vectors, embedder.embed(questions), atol=1e-5)
    assert inference.count() == 16


# --- retried to success -------------------------------------------------------------------


def test_503_loading_waits_estimated_time(inference, fake):
    inference.queue(Fault.loading(1.5), Fault.loading(2.5))
    assert client(inference, fake).embed(TEXTS).shape == (3, 384)
    assert inference.count() == 3 and fake.slept == [1.5, 2.5]


def test_429_honours_retry_after(inference, fake):
    inference.queue(Fault.rate_limited("2"))
    client(inference, fake).embed(TEXTS)
    assert inference.count() == 2 and fake.slept == [2.0]


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_server_errors_back_off_and_retry(inference, fake, code):
    inference.queue(Fault.status(code), Fault.status(code))
    client(inference, fake).embed(TEXTS)
    assert inference.count() == 3
    first, second = fake.slept
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 1.5  # 0.5 s doubling, plus jitter


def test_dropped_connection_is_retried(inference, fake):
    inference.queue(Fault.drop())
    client(inference, fake).embed(TEXTS)
    assert inference.count() == 2 and len(fake.slept) == 1


def test_slow_answer_past_read_timeout_is_retried(inference, fake):
    inference.queue(Fault.slow(0.5))
    vectors = client(inference, fake, read_timeout=0.05).embed(TEXTS)
    assert vectors.shape == (3, 384) and inference.count() == 2


@pytest.mark.parametrize("tei", [False, True], ids=["hf-router", "tei-embed"])
def test_token_level_output_is_mean_pooled(inference, embedder, tei):
    inference.queue(Fault.token_level())
    vectors = client(inference, tei=tei).embed(TEXTS)
    np.testing.assert_allclose(vectors, embedder.embed(TEXTS), atol=1e-5)
    assert inference.count() == 1


def test_estimated_time_is_really_waited(inference):
    """The one real wait: the default sleep and clock honour a 0.2 s estimated_time."""
    inference.queue(Fault.loading(0.2))
    started = time.monotonic()
    client(inference).embed(TEXTS)
    assert time.monotonic() - started >= 0.2
    first, second = inference.requests
    assert second.time - first.time >= 0.2 and inference.count() == 2


# --- a clear error within the budget ------------------------------------------------------


@pytest.mark.parametrize(("fault", "words"), [
    (Fault.status(500), "failed with HTTP 500"),
    (Fault.status(502), "failed with HTTP 502"),
    (Fault.status(503), "failed with HTTP 503"),
    (Fault.status(504), "failed with HTTP 504"),
    (Fault.drop(), "connection to"),
], ids=["500", "502", "503", "504", "drop"])
def test_persistent_failure_gives_up_within_live_budget(inference, fake, fault, words):
    inference.queue(*[fault] * 10)
    message = failure(client(inference, fake))
    # Waits of 0.5, 1, 2, 4 s (+ jitter) fit in 10 s; a fifth (4 s more) would not.
    assert inference.count() == 5 and sum(fake.slept) < LIVE.budget
    assert words in message and "gave up after 5 attempts" in message
    assert "10 s limit" in message


def test_build_budget_is_about_two_minutes(inference, fake):
    inference.queue(*[Fault.status(503)] * 20)
    message = failure(client(inference, fake, policy=BUILD))
    # 1, 2, 4, 8, 16, 30, 30 s (+ jitter) fit in 120 s; an eighth wait would not.
    assert inference.count() == 8 and 91 <= sum(fake.slept) < BUILD.budget
    assert "gave up after 8 attempts" in message and "120 s limit" in message


def test_slow_answers_give_up_within_budget(inference, fake):
    inference.queue(*[Fault.slow(0.3)] * 10)
    started = time.monotonic()
    message = failure(client(inference, fake, read_timeout=0.02))
    assert inference.count() == 5 and time.monotonic() - started < 1.0
    assert "did not answer within 0.02 s" in message


def test_rate_limit_longer_than_budget(inference, fake):
    inference.queue(*[Fault.rate_limited("4")] * 5)
    message = failure(client(inference, fake))
    assert inference.count() == 3 and fake.slept == [4.0, 4.0]
    assert "rate-limiting" in message and "HTTP 429" in message


def test_retry_after_as_http_date(inference, fake):
    when = email.utils.formatdate(time.time() + 60, usegmt=True)
    inference.queue(Fault.rate_limited(when))
    message = failure(client(inference, fake))
    assert inference.count() == 1 and fake.slept == []
    assert "rate-limiting" in message


def test_model_loading_longer_than_budget_fails_fast(inference, fake):
    inference.queue(Fault.loading(30))
    message = failure(client(inference, fake))
    assert inference.count() == 1 and fake.slept == []
    assert "still loading" in message and "estimated 30.0 s" in message


@pytest.mark.parametrize(("fault", "words"), [
    (Fault.wrong_count(), "wrong number of vectors (2 for 3 texts)"),
    (Fault.nan(), "NaN"),
], ids=["wrong-count", "nan"])  # a 200 that isn't JSON is retried: test_api_not_json.py
def test_unusable_answers_are_not_retried(inference, fake, fault, words):
    inference.queue(fault)
    message = failure(client(inference, fake))
    assert words in message and "unusable answer" in message
    assert inference.count() == 1 and fake.slept == []


def test_wrong_dimension_after_learning_it(inference):
    api = client(inference)
    api.embed(["a"])
    inference.queue(Fault.wrong_dim(383))
    assert "383-dimensional vectors where earlier answers had 384" in failure(api)
    assert inference.count() == 2


def test_wrong_dimension_against_the_dataset(inference):
    inference.queue(Fault.wrong_dim(383))
    with pytest.raises(UserError, match=r"384-dimensional embeddings.*383-dimensional"):
        load_faq(str(SAMPLE_DATASET), client(inference))
    assert inference.count() == 1


NOT_RETRIED = {
    400: "malformed",
    401: "rejected HF_TOKEN as invalid",
    402: "Inference Providers credits",
    403: "lacks the 'Make calls to Inference Providers' permission",
    404: f"model {MODEL} is not served",
    410: "set INFERENCE_API_URL to https://router.huggingface.co/",
    422: "too long or the batch too big",
}


@pytest.mark.parametrize("code", sorted(NOT_RETRIED))
def test_client_errors_are_not_retried(inference, fake, code):
    inference.queue(Fault.status(code))
    message = failure(client(inference, fake))
    assert NOT_RETRIED[code] in message and f"HTTP {code}" in message
    assert inference.count() == 1 and fake.slept == []


def test_each_client_error_has_its_own_message(inference, fake):
    messages = set()
    for code in NOT_RETRIED:
        inference.queue(Fault.status(code))
        messages.add(failure(client(inference, fake)))
    assert len(messages) == len(NOT_RETRIED)


def test_a_wrong_token_is_reported_as_invalid(inference):
    message = failure(client(inference, token="hf_wrongWrongWrong"))
    assert "rejected HF_TOKEN as invalid" in message and "hf_wrong" not in message


# --- configuration ------------------------------------------------------------------------


def test_the_router_needs_a_token():
    with pytest.raises(UserError, match="needs HF_TOKEN"):
        create_embedder(Settings.from_env({"EMBEDDING_BACKEND": "api"}))


def test_a_tei_server_needs_no_token(embedder):
    with InferenceStandIn(embedder.embed) as server:
        api = create_embedder(Settings.from_env(
            {"EMBEDDING_BACKEND": "api", "INFERENCE_API_URL": server.tei_url}))
        assert api.embed(["a"]).shape == (1, 384)
        assert "Authorization" not in server.requests[0].headers


@pytest.mark.parametrize("url", ["ftp://example.org/embed", "router.huggingface.co/x", ""])
def test_a_bad_url_is_refused(url):
    with pytest.raises(UserError, match="is not an http"):
        InferenceApiEmbedder(url=url, model_id=MODEL, token=TOKEN)


def test_a_mangled_token_is_refused_without_showing_it():
    with pytest.raises(UserError) as caught:
        InferenceApiEmbedder(url="http://127.0.0.1:9/embed", model_id=MODEL, token=TOKEN + "\n")
    assert "control characters" in str(caught.value) and TOKEN not in str(caught.value)


# --- the token never shows ----------------------------------------------------------------


def test_token_never_in_logs_errors_or_repr(inference, fake, caplog):
    caplog.set_level(logging.DEBUG)
    api = client(inference, fake)
    inference.queue(Fault.loading(1), Fault.drop(), Fault.status(500))
    api.embed(TEXTS)
    inference.queue(Fault.status(400, {"error": f"bad header: Bearer {TOKEN}"}))
    echoed = failure(api)
    inference.queue(*[Fault.status(502)] * 5)
    gave_up = failure(api)
    assert "<redacted>" in echoed and "gave up" in gave_up
    assert len([r for r in caplog.records if r.name == "bot.faq.embedders.api"]) >= 7
    texts = [caplog.text, echoed, gave_up, repr(api), repr(api.policy), str(vars(api))]
    assert all(TOKEN not in text for text in texts)
    assert repr(api).endswith("token=set)")


# --- the query cache ----------------------------------------------------------------------


def test_a_repeated_question_makes_no_second_request(inference):
    answerer = load_answerer(settings(inference))
    inference.reset()
    first = answerer.ask("I lost my medicare card")
    assert inference.count() == 1
    assert answerer.ask("I lost my medicare card") == first
    assert inference.count() == 1
    assert first.candidates[0].id == "replacement-card"


def test_health_check_notices_an_outage_and_the_recovery(inference, monkeypatch):
    """/healthz must reach the service itself (not the query cache), at a bounded rate."""
    import bot.faq.answerer as answerer_module

    answerer = load_answerer(settings(inference))
    assert answerer.ready()
    inference.reset()
    assert answerer.ready() and inference.count() == 0  # within the interval: no request
    monkeypatch.setattr(answerer_module, "HEALTH_INTERVAL_SECONDS", 0.0)
    inference.queue(Fault.status(401))
    assert not answerer.ready()
    assert answerer.ready() and inference.count() == 2


# --- probe() for `faqbot check` -----------------------------------------------------------


def test_probe_ok(inference):
    message = probe(settings(inference))
    assert MODEL in message and "384-dimensional" in message and inference.count() == 1


def test_probe_names_the_cause(inference, fake):
    policy = replace(LIVE, sleep=fake.sleep, clock=fake.clock)
    cases = {
        "rejected HF_TOKEN as invalid": settings(inference, HF_TOKEN="hf_wrongWrongWrong"),
        f"model {MODEL} is not served": settings(inference),
        "needs HF_TOKEN": Settings.from_env({"EMBEDDING_BACKEND": "api"}),
        "connection to http://127.0.0.1:9/embed failed": settings(
            inference, INFERENCE_API_URL="http://127.0.0.1:9/embed"),
    }
    inference.queue(Fault.status(404))
    for words, config in cases.items():
        with pytest.raises(UserError) as raised:
            probe(config, policy=policy)
        message = raised.value.one_line()
        assert words in message and message.startswith("error: ")
        assert TOKEN not in message and "hf_wrong" not in message


# --- the CLI, end to end ------------------------------------------------------------------


@pytest.fixture(scope="session")
def local_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local-build")
    result = run_cli("build", str(SAMPLE_SOURCE), "--out", str(out), "--quiet",
                     env=clean_env(EMBEDDING_BACKEND="local"), cwd=out)
    assert result.returncode == 0, result.stderr
    return out


def read_vectors(out: Path) -> tuple[np.ndarray, np.ndarray]:
    table = pq.read_table(out / DATA_FILE)
    questions = np.asarray(table["embedding"].to_pylist(), dtype=np.float32)
    alternates = [v for row in table["alternate_embeddings"].to_pylist() for v in row]
    return questions, np.asarray(alternates, dtype=np.float32)


def api_env(url: str) -> dict[str, str]:
    return clean_env(EMBEDDING_BACKEND="api", HF_TOKEN=TOKEN, INFERENCE_API_URL=url)


@pytest.mark.parametrize("tei", [False, True], ids=["hf-router", "tei-embed"])
def test_cli_build_matches_local(inference, local_build, tmp_path, tei):
    url = inference.tei_url if tei else inference.hf_url
    result = run_cli("build", str(SAMPLE_SOURCE), "--out", str(tmp_path), "--quiet",
                     env=api_env(url), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for api, local in zip(read_vectors(tmp_path), read_vectors(local_build), strict=True):
        assert api.shape == local.shape and len(api) > 0
        np.testing.assert_allclose(api, local, atol=1e-5)
    assert all(len(r.body["inputs"]) <= 32 for r in inference.requests)
    assert TOKEN not in result.stderr


def test_cli_ask_json_matches_local(inference, tmp_path):
    question = ("ask", "How can Medicare help me?", "--json")
    local = run_cli(*question, env=clean_env(EMBEDDING_BACKEND="local"), cwd=tmp_path)
    api = run_cli(*question, env=api_env(inference.hf_url), cwd=tmp_path)
    assert local.returncode == 0 and api.returncode == 0, api.stderr
    local_out, api_out = json.loads(local.stdout), json.loads(api.stdout)
    assert api_out["decision"] == local_out["decision"]
    for mine, theirs in zip(api_out["candidates"], local_out["candidates"], strict=True):
        assert mine["id"] == theirs["id"] and mine["row"] == theirs["row"]
        assert mine["score"] == pytest.approx(theirs["score"], abs=2e-4)


def test_cli_service_error_is_one_line_exit_2(inference, tmp_path):
    inference.queue(Fault.status(402))
    result = run_cli("ask", "How can Medicare help me?", env=api_env(inference.hf_url),
                     cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "credits" in lines[0]
    assert TOKEN not in result.stderr + result.stdout


# --- payload shapes the stand-in cannot send ----------------------------------------------


def test_unit_rows_accepts_flat_and_ragged_token_output():
    flat = unit_rows([3.0, 4.0], 1)
    np.testing.assert_allclose(flat, [[0.6, 0.8]])
    ragged = [[[1.0, 0.0], [3.0, 0.0]], [[0.0, 2.0]]]  # 2 tokens, then 1 token
    np.testing.assert_allclose(unit_rows(ragged, 2), [[1.0, 0.0], [0.0, 1.0]])


@pytest.mark.parametrize(("payload", "n", "words"), [
    ({"error": "x"}, 1, "not a list of vectors"),
    ([[[1.0, 0.0]], [[1.0]]], 2, "unequal length"),
    ([[[[1.0]]]], 1, "shape (1, 1, 1, 1)"),
    ([[0.0, 0.0]], 1, "all-zero"),
    ([[]], 1, "empty vectors"),
    ([[float("inf"), 1.0]], 1, "infinite"),
])
def test_unit_rows_rejects(payload, n, words):
    with pytest.raises(InvalidVectors, match=re.escape(words)):
        unit_rows(payload, n)
