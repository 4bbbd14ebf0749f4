"""FAQ edits reach every running server: two `faqbot serve` processes on one database (SQLite
and PostgreSQL), an FAQ added with the CLI answered by the other process within 10 s, a
retired one gone as fast, and a reload in the middle of 50 questions a second that loses,
doubles and slows down nothing."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.conftest import wait_until
from tests.e2e.conftest import (
    cli,
    deliver,
    live_env,
    message,
    posts_for,
    reply_to,
)
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import SlackStandIn

DOG = ["--question", "Can I bring my dog to the office?",
       "--answer", "Dogs are welcome on Fridays.",
       "--alternates", "are pets allowed at work|is the office dog friendly"]
ASKED = "may I bring my puppy to work?"
LIVE_WITHIN = 10.0


def first_reply_with(server: ServerProcess, standin: SlackStandIn, text: str,
                     wanted: Any) -> float:
    """Ask until the reply satisfies ``wanted``; seconds it took."""
    start = time.monotonic()
    wait_until(lambda: wanted(reply_to(server, standin, text)), timeout=LIVE_WITHIN,
               what="the edit answered by the other server")
    return time.monotonic() - start


def test_an_faq_added_on_the_cli_is_answered_by_another_server(slack_standin, database_url):
    env = live_env(slack_standin, database_url)
    with ServerProcess(env) as a, ServerProcess(env) as b:
        a.wait_healthy()
        b.wait_healthy()
        assert "Dogs are welcome" not in reply_to(a, slack_standin, ASKED)
        faq_id = cli(database_url, "faq", "add", *DOG)
        # Each server learns of it on its own poll (every 2 s): each is waited for, since one
        # having it says nothing of when the other's poll comes.
        for server in (b, a):
            first_reply_with(server, slack_standin, ASKED, lambda r: "Dogs are welcome" in r)
        cli(database_url, "faq", "retire", faq_id)
        # Gone altogether: not the answer, and not one of the choices either.
        for server in (b, a):
            first_reply_with(server, slack_standin, ASKED,
                             lambda r: faq_id not in r and "bring my dog" not in r)


def test_a_reload_under_load_loses_and_doubles_nothing(slack_standin, tmp_path):
    """50 questions a second for 6 s, with an FAQ edit every second in the middle of it:
    every question answered once, the silent ones not at all. (What the reloads cost in
    latency is measured by ``benchmarks/faq_live.py``, not asserted here: a timing ratio
    on a shared machine is a coin toss.)"""
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    questions = ["How do I get a replacement Medicare card?", "what is tricare?",
                 "how do i sign up for medicare?", "lol who broke the build"]
    with ServerProcess(live_env(slack_standin, url)) as server:
        server.wait_healthy()
        stop = threading.Event()

        def edit_every_second() -> None:
            n = 0
            while not stop.is_set():
                cli(url, "faq", "add", "--question", f"Where is meeting room {n}?",
                    "--answer", f"Floor {n}.", "--id", f"room-{n}")
                n += 1

        editor = threading.Thread(target=edit_every_second)
        editor.start()
        try:
            _burst(server, slack_standin, questions, seconds=6)
        finally:
            stop.set()
            editor.join()
        assert "FAQ reloaded" in "\n".join(server.lines)


def _burst(server: ServerProcess, standin: SlackStandIn, questions: list[str], *,
           seconds: float) -> None:
    """Send 50 questions a second; check that every answered question got exactly one reply
    and the silent ones none."""
    sent: list[dict[str, Any]] = []
    start = time.monotonic()
    for n in range(int(50 * seconds)):
        time.sleep(max(0.0, start + n / 50 - time.monotonic()))  # pacing the load, not waiting
        event = message(questions[n % len(questions)])
        assert deliver(server, event) == 200
        sent.append(event)
    answered = [e for e in sent if "lol" not in e["text"]]
    wait_until(lambda: all(posts_for(standin, e["ts"]) for e in answered), timeout=20,
               what="every question answered")
    for event in sent:
        posts = posts_for(standin, event["ts"])
        assert len(posts) == ("lol" not in event["text"]), event["text"]
