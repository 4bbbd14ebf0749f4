"""Shared fixtures. The Hugging Face cache goes to a temporary directory for the whole run,
so tests never read or write the developer's cache, and nothing reaches the real Hub."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_HF_HOME = tempfile.mkdtemp(prefix="faqbot-tests-hf-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["XDG_CACHE_HOME"] = os.path.join(_HF_HOME, "xdg-cache")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("HF_TOKEN", None)

from tests.standins.localhub import local_hub  # noqa: E402, F401  (a fixture, re-exported)
from tests.standins.postgres import postgres  # noqa: E402, F401  (a fixture, re-exported)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_SOURCE = ROOT / "examples" / "medicare" / "faq.csv"
# Every faqbot setting, cleared so the developer's environment can't leak into a test.
SETTINGS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL",
            "FAQ_DATASET", "FAQ_DATASET_REVISION", "FAQ_TEXTS", "HF_TOKEN", "EMBEDDING_BACKEND",
            "EMBEDDING_MODEL", "EMBEDDING_MODEL_DIR", "INFERENCE_API_URL", "ANSWER_MIN_SCORE",
            "ANSWER_MARGIN", "FAQ_CHANNELS", "DATABASE_URL", "LOG_QUESTION_TEXT")


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(overrides)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot`` as a user would, in a clean environment."""
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=env if env is not None else clean_env(), cwd=cwd or ROOT,
                          timeout=timeout)


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def embedder():
    from bot.faq.embedders.local import LocalEmbedder

    return LocalEmbedder(model_id="sentence-transformers/all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def answerer(embedder) -> Iterator:
    from bot.config import Settings
    from bot.faq.answerer import load_answerer

    yield load_answerer(Settings.from_env({}), embedder=embedder)
