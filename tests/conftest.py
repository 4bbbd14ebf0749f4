"""Shared fixtures and helpers, defined once for the whole tree.

The Hugging Face cache goes to a temporary directory for the whole run, so tests never read or
write the developer's cache, and nothing reaches the real Hub. Tests that need a particular
Hugging Face environment (the local-Hub ones) set all of it themselves.

faqbot's default database lives in the per-user data directory: XDG_DATA_HOME points it at a
temporary directory for the run, one for each module and the test's own in each test (the
servers and CLI runs they start inherit it), so no test reads or writes the developer's
database.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# The caller's Hugging Face environment (HF_HUB_OFFLINE=1 on an air-gapped machine, a mirror in
# HF_ENDPOINT, a token, cache paths) must not change what a test sees: drop all of it, then set
# the one the suite runs under.
for _name in [n for n in os.environ if n.startswith(("HF_", "HUGGINGFACE_"))]:
    del os.environ[_name]
os.environ.pop("TRANSFORMERS_OFFLINE", None)
_HF_HOME = tempfile.mkdtemp(prefix="faqbot-tests-hf-")
os.environ["HF_HOME"] = _HF_HOME
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)  # hundreds of MB a run
os.environ["XDG_CACHE_HOME"] = os.path.join(_HF_HOME, "xdg-cache")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
_DATA_HOME = tempfile.mkdtemp(prefix="faqbot-tests-data-")
os.environ["XDG_DATA_HOME"] = _DATA_HOME
atexit.register(shutil.rmtree, _DATA_HOME, ignore_errors=True)

from bot.config import VARIABLES  # noqa: E402
from bot.faq.answerer import Answerer  # noqa: E402
from bot.faq.policy import Answer, Hit  # noqa: E402
from bot.storage.url import default_database_file  # noqa: E402
from tests.standins.localhub import local_hub  # noqa: E402, F401  (a fixture, re-exported)
from tests.standins.postgres import PgServer, postgres  # noqa: E402, F401  (postgres: a fixture)
from tests.standins.slack_standin import SlackStandIn  # noqa: E402

if not default_database_file().is_relative_to(_DATA_HOME):  # macOS and Windows ignore XDG
    raise RuntimeError(f"faqbot's default database would be {default_database_file()}, the "
                       "real one: the tests isolate it with XDG_DATA_HOME, which only Linux "
                       "(and other XDG platforms) honour; run them there")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_SOURCE = ROOT / "examples" / "medicare" / "faq.csv"
# Every variable faqbot reads (DYNO included), cleared so the developer's environment can't
# leak into a test.
SETTINGS = VARIABLES
# The bot token the Slack stand-in answers with invalid_auth, as Slack does a revoked one.
REVOKED_TOKEN = "xoxb-revoked"


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


def server_env(standin: SlackStandIn, *, token: str, secret: str,
               **variables: str) -> dict[str, str]:
    """Every faqbot setting for a server that talks to ``standin``: each one is given (empty
    means the default), so nothing leaks in from the caller's environment."""
    return {**dict.fromkeys(SETTINGS, ""), "SLACK_API_URL": standin.api_url,
            "SLACK_BOT_TOKEN": token, "SLACK_SIGNING_SECRET": secret,
            "EMBEDDING_BACKEND": "local", **variables}


def wait_until(condition: Callable[[], bool], timeout: float = 10.0,
               what: str = "condition") -> None:
    """Poll ``condition`` until it holds, failing after ``timeout`` seconds.

    For state outside the test process (a database, a server's log rotation) that offers no
    event to wait on. The pause between checks starts at 1 ms and doubles up to 50 ms, so a
    condition that is almost true costs almost nothing and a slow one doesn't spin a core.
    """
    deadline = time.monotonic() + timeout
    pause = 0.001
    while not condition():
        left = deadline - time.monotonic()
        assert left > 0, f"{what} not met within {timeout} s"
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.05)


def logged_answer(decision: str, *ids_scores: tuple[str, float]) -> Answer:
    """An ``Answer`` to log, from (FAQ id, score) pairs best first: what the store and the
    report need of one, without running the engine."""
    hits = tuple(Hit(row=0, id=faq_id, question=f"{faq_id}?", answer="…", url="", score=score)
                 for faq_id, score in ids_scores)
    shown = {"answer": hits[:1], "choices": hits[:3], "none": ()}[decision]
    return Answer(decision=decision, shown=shown, candidates=hits)


def table_rows(url: str, table) -> list[dict]:
    """Every row of a ``bot.storage.schema`` table, read straight from the database."""
    from sqlalchemy import create_engine, select

    from bot.storage.url import parse_url

    engine = create_engine(parse_url(url))
    try:
        with engine.connect() as connection:
            return [dict(row) for row in connection.execute(select(table)).mappings()]
    finally:
        engine.dispose()


@pytest.fixture(scope="module", autouse=True)
def _module_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Servers a module's tests share (module-scoped fixtures, started before any test's own
    setting) get a data directory of the module's own, so no two modules share a default
    database."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))
        yield


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No setting leaks in from the caller; the database (which `ask` reads FAQ edits from)
    is the test's own file, and so is the default one of the processes it starts (those
    clear DATABASE_URL), never the developer's."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'faqbot.sqlite3'}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    before = dict(os.environ)
    yield
    # `main()` run in-process loads a test's .env into os.environ, past monkeypatch.
    os.environ.clear()
    os.environ.update(before)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections for the whole test: the socket is bound but
    not listening, so connecting is refused and no other process can take the port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def slack_standin() -> Iterator[SlackStandIn]:
    """A fresh Slack Web API stand-in; ``REVOKED_TOKEN`` gets invalid_auth."""
    with SlackStandIn(invalid_token=REVOKED_TOKEN) as fake:
        yield fake


@pytest.fixture(scope="session")
def embedder():
    from bot.faq.embedders.local import LocalEmbedder

    embedder = LocalEmbedder(model_id="sentence-transformers/all-MiniLM-L6-v2")
    # Loaded now: a first load may build the model's fast graph (seconds), which must not
    # happen inside a stand-in's request, under a client's timeout.
    embedder.embed(["load"])
    return embedder


@pytest.fixture(scope="session")
def answerer(embedder) -> Answerer:
    """The real answerer on the bundled sample, with the real local embedder."""
    from bot.config import Settings
    from bot.faq.answerer import load_answerer

    return load_answerer(Settings.from_env({"EMBEDDING_BACKEND": "local"}), embedder=embedder)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, then a database on the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.sqlite3'}"
        return
    server: PgServer = request.getfixturevalue("postgres")
    url = server.new_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def store(database_url) -> Iterator:
    from bot.storage import Store

    store = Store.from_url(database_url)
    yield store
    store.close()
