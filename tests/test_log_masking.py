"""Secrets in URLs stay out of ``-v`` logs: urllib3 logs each request line with its query
(``?api_key=…``) and slack_sdk logs the URL it calls (``http://user:password@…``); the CLI's
logging masks both, at DEBUG, whichever library logs them."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.log_masking import MaskUrlSecrets, mask_url_secrets
from tests.conftest import clean_env, run_cli
from tests.standins.inference_standin import InferenceStandIn, hash_embed
from tests.standins.slack_standin import SlackStandIn

API_KEY = "key-6f1c0ffee"
PASSWORD = "pw-9d2badcafe"
HF_TOKEN = "hf_masking_test_token"
BOT_TOKEN = "xoxb-masking-test"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as fake:
        yield fake


@pytest.fixture
def inference() -> Iterator[InferenceStandIn]:
    with InferenceStandIn(hash_embed, token=HF_TOKEN) as server:
        yield server


def test_verbose_check_logs_no_secret_from_a_url(slack: SlackStandIn,
                                                 inference: InferenceStandIn,
                                                 tmp_path: Path) -> None:
    slack_url = slack.api_url.replace("http://", f"http://admin:{PASSWORD}@")
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET="s",
                    SLACK_API_URL=slack_url, EMBEDDING_BACKEND="api", HF_TOKEN=HF_TOKEN,
                    INFERENCE_API_URL=f"{inference.tei_url}?api_key={API_KEY}&mode=x",
                    DATABASE_URL=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    result = run_cli("-v", "check", env=env, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert inference.count() > 0  # the embedder was really called, with the key
    assert f"api_key={API_KEY}" in inference.requests[-1].path
    assert "DEBUG urllib3" in result.stderr and "DEBUG slack_sdk" in result.stderr
    assert "api_key=***&mode=x" in result.stderr  # masked, not dropped: still debuggable
    assert "://***@127.0.0.1" in result.stderr
    for secret in (API_KEY, PASSWORD, HF_TOKEN, BOT_TOKEN):
        assert secret not in output


@pytest.mark.parametrize(("raw", "masked"), [
    ('"POST /embed?api_key=abc&x=1 HTTP/1.1" 200', '"POST /embed?api_key=***&x=1 HTTP/1.1" 200'),
    ("https://h.example/p?x=1&token=t0k#frag", "https://h.example/p?x=1&token=***#frag"),
    ("GET /a?Access_Token=t&API-KEY=k&password=p",
     "GET /a?Access_Token=***&API-KEY=***&password=***"),
    ("url: http://admin:PW@127.0.0.1:80/api/", "url: http://***@127.0.0.1:80/api/"),
    ("https://tok3n@github.com/x.git", "https://***@github.com/x.git"),
    ("see https://h.example/a@b and user@example.com",
     "see https://h.example/a@b and user@example.com"),
    ("?keyboard=1&monkey=2", "?keyboard=1&monkey=2"),
    # Socket Mode: apps.connections.open answers a wss URL whose ticket opens the connection.
    ("wss://wss.slack.com/link/?ticket=abc-123&app_id=A1",
     "wss://wss.slack.com/link/?ticket=***&app_id=A1"),
])
def test_masking_rules(raw: str, masked: str) -> None:
    assert mask_url_secrets(raw) == masked


def test_the_filter_masks_arguments_and_tracebacks() -> None:
    record = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1,
                               '%s "%s %s"', ("http://a:b@h", "POST", "/embed?api_key=k"), None)
    try:
        raise ConnectionError("failed: https://h.example/embed?api_key=k")
    except ConnectionError:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (),
                                   sys.exc_info())
    mask = MaskUrlSecrets()
    assert mask.filter(record) and mask.filter(failed)
    formatter = logging.Formatter()
    assert formatter.format(record) == 'http://***@h "POST /embed?api_key=***"'
    assert "api_key=***" in formatter.format(failed)
    assert "api_key=k" not in formatter.format(failed)
