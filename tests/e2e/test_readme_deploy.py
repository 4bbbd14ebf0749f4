"""The README's "Deploy to Slack", run as written (issue 21: every command it shows is run
by a test, or is the Quickstart).

Each command is read from the README's code blocks and run in bash, in a folder laid out
like a fresh clone after the Quickstart's first command (``.env.example`` and ``.venv``),
with the venv left off ``PATH`` so that ``source .venv/bin/activate`` has to work. The
tokens a user pastes into ``.env`` point at the local Slack and Socket Mode stand-ins.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, SETTINGS
from tests.e2e.test_socket_e2e import SocketProcess
from tests.standins.slack_standin import APP_ID, TEAM_ID, SlackStandIn, event_body
from tests.standins.socket_standin import SocketStandIn

TOKEN = f"xoxb-test-{secrets.token_hex(12)}"
APP_TOKEN = f"xapp-1-{APP_ID}-{secrets.token_hex(12)}"
VENV = Path(sys.prefix)
ACTIVATE = VENV / "bin" / "activate"
VERBOSE_SOCKET = "faqbot -v socket"  # what the README says to run when nothing happens

pytestmark = pytest.mark.skipif(not ACTIVATE.is_file(),
                                reason="the tests run outside a venv: nothing to activate")


def deploy_commands() -> list[str]:
    """The shell commands of the README's "Deploy to Slack" section, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Deploy to Slack\n(.*?)(?=^## )", readme, re.S | re.M)
    assert section, "README.md has no '## Deploy to Slack' section"
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", section.group(1), re.S)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def test_the_section_shows_the_commands_this_test_runs() -> None:
    assert deploy_commands() == ["source .venv/bin/activate", "cp .env.example .env",
                                 "faqbot check", "faqbot socket",
                                 "faqbot build my-faq.csv --out my-faq/"]
    assert f"`{VERBOSE_SOCKET}`" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A folder like the user's clone: ``.env.example`` and the Quickstart's ``.venv``."""
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    (tmp_path / ".venv").symlink_to(VENV)
    return tmp_path


def user_env() -> dict[str, str]:
    """The environment of a fresh shell: no faqbot setting, the venv not on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS and k != "VIRTUAL_ENV"}
    venv_bin = str(VENV / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p != venv_bin)
    return env


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run one README command in bash, after the activation the README asks for first."""
    return subprocess.run(["bash", "-c", f"source .venv/bin/activate && {command}"], cwd=cwd,
                          env=user_env(), capture_output=True, text=True, timeout=180)


def fill_in(env_file: Path, **values: str) -> None:
    """What the user does by hand: set some lines of ``.env``."""
    lines = env_file.read_text(encoding="utf-8").splitlines()
    for name, value in values.items():
        assignment = re.compile(rf"^{name}=.*$")
        found = [i for i, line in enumerate(lines) if assignment.match(line)]
        if found:
            lines[found[0]] = f"{name}={value}"
        else:
            lines.append(f"{name}={value}")
    env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")


class ReadmeSocket(SocketProcess):
    """``faqbot socket`` started the README's way; ready once it says it connected."""

    def __init__(self, cwd: Path, command: str = "faqbot socket") -> None:
        super().__init__({}, cwd=str(cwd))
        self._command = ["bash", "-c", f"source .venv/bin/activate && exec {command}"]
        self._env = user_env()


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(token_prefixes=("xoxb-", "xapp-")) as fake:
        yield fake


@pytest.fixture
def socket_mode(slack: SlackStandIn) -> Iterator[SocketStandIn]:
    with SocketStandIn(slack, APP_TOKEN) as fake:
        yield fake


def ask_in_channel(slack: SlackStandIn, socket_mode: SocketStandIn, text: str, ts: str) -> str:
    """Post ``text`` in a channel the bot was invited to; the answer's text."""
    event = {"type": "message", "channel": "CGENERAL", "user": "U1", "text": text, "ts": ts,
             "event_ts": ts, "channel_type": "channel", "team": TEAM_ID}
    socket_mode.send_event(event_body(event))
    [reply] = slack.wait_for("chat.postMessage", timeout=20,
                             where=lambda c: c.params.get("thread_ts") == ts)
    return str(reply.params)


def test_deploy_to_slack_as_the_readme_says(clone: Path, slack: SlackStandIn,
                                            socket_mode: SocketStandIn) -> None:
    activate, copy, check, socket, build = deploy_commands()

    copied = shell(copy, clone)
    assert copied.returncode == 0, copied.stderr
    fill_in(clone / ".env", SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_API_URL=slack.api_url,  # the stand-in plays slack.com
            DATABASE_URL=f"sqlite:///{clone / 'faqbot.sqlite3'}")

    checked = shell(check, clone)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "✗" not in checked.stdout
    assert TOKEN not in checked.stdout + checked.stderr
    assert APP_TOKEN not in checked.stdout + checked.stderr

    assert socket == "faqbot socket"
    with ReadmeSocket(clone) as bot:
        answer = ask_in_channel(slack, socket_mode, "how do I get a new medicare card?",
                                "1900000001.000100")
        assert "replacement Medicare card" in answer
        assert bot.stop() == 0

    (clone / "my-faq.csv").write_text(
        "question,answer,alternates\n"
        "Where do I park?,Level -2 of the garage; badge in at the gate.,"
        "is there parking|where can I leave my car|parking at the office\n"
        "When is the office open?,From 8 to 19 on weekdays.,"
        "opening hours|what time does the office open|is the office open on weekends\n",
        encoding="utf-8")
    built = shell(build, clone)
    assert built.returncode == 0, built.stdout + built.stderr
    fill_in(clone / ".env", FAQ_DATASET="my-faq/")
    with ReadmeSocket(clone, VERBOSE_SOCKET) as bot:
        answer = ask_in_channel(slack, socket_mode, "where can I park my car?",
                                "1900000002.000100")
        assert "Level -2 of the garage" in answer
        assert "DEBUG" in bot.log and TOKEN not in bot.log and APP_TOKEN not in bot.log
    assert activate == "source .venv/bin/activate"  # every command above ran after it
