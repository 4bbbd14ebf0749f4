"""A crash loses no question: kill -9 mid-burst, restart, and Slack's retries get answers.

Slack redelivers an event (``X-Slack-Retry-Num``) that it thinks went unanswered. A claim
becomes "done" only once the reply is posted, so the messages whose replies were in flight
when the process died are taken again by the restarted server, after their lease.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.conftest import server_env
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import Call, SlackStandIn, event_body, send_signed

SECRET = "crash-recovery-signing-secret"
TOKEN = "xoxb-crash-recovery"
BURST = 150
POSTED_BEFORE_CRASH = 40
IN_FLIGHT_AT_CRASH = 4


class Slack:
    """chat.postMessage that, once armed, lets ``POSTED_BEFORE_CRASH`` replies through and
    then holds the rest unanswered, so the bot dies with replies in flight."""

    def __init__(self) -> None:
        self.posted: Counter[str] = Counter()
        self.held = 0
        self.armed = True
        self.release = threading.Event()
        self._cond = threading.Condition()

    def __call__(self, call: Call) -> dict[str, Any]:
        ts = str(call.params.get("thread_ts"))
        with self._cond:
            hold = self.armed and sum(self.posted.values()) >= POSTED_BEFORE_CRASH
            if hold:
                self.held += 1
            else:
                self.posted[ts] += 1
            self._cond.notify_all()
        if hold:
            self.release.wait(30)
            return {"ok": False, "error": "internal_error"}
        return {"ok": True, "channel": call.params.get("channel"), "ts": f"{ts}1"}

    def wait(self, condition: Any, timeout: float = 60.0) -> None:
        with self._cond:
            assert self._cond.wait_for(condition, timeout), (self.held, len(self.posted))


def events() -> list[dict[str, Any]]:
    return [{"type": "message", "channel": "C1", "user": "U1", "ts": f"{n + 1}.000001",
             "channel_type": "channel", "text": "how do I get a new medicare card?"}
            for n in range(BURST)]


def send_all(server: ServerProcess, burst: list[dict[str, Any]], **headers: Any) -> None:
    def send(event: dict[str, Any]) -> None:
        # OSError: the server died mid-request; Slack would retry this one too.
        with contextlib.suppress(OSError):
            send_signed(server.events_url, event_body(event), SECRET, timeout=10, **headers)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, burst))


def test_kill_9_mid_burst_then_retries_answer_every_question_once(tmp_path) -> None:
    slack = Slack()
    burst = events()
    with SlackStandIn() as standin:
        standin.set_response("chat.postMessage", slack)
        env = server_env(standin, token=TOKEN, secret=SECRET, CLAIM_LEASE_SECONDS="1",
                         DATABASE_URL=f"sqlite:///{tmp_path / 'faqbot.sqlite3'}")
        with ServerProcess(env, cwd=str(tmp_path)) as first:
            first.wait_healthy()
            sender = threading.Thread(target=send_all, args=(first, burst))
            sender.start()
            slack.wait(lambda: slack.held >= IN_FLIGHT_AT_CRASH)
            assert first.proc is not None
            first.proc.kill()  # kill -9: no shutdown, replies in flight are lost
            first.proc.wait()
            sender.join()
        slack.release.set()
        answered_before = set(slack.posted)
        assert len(answered_before) == POSTED_BEFORE_CRASH

        slack.armed = False
        with ServerProcess(env, cwd=str(tmp_path)) as second:
            second.wait_healthy()
            # Slack retries what went unanswered, up to three times; a claim left pending by
            # the crash is free again once its lease (1 s here, 30 s by default) has run out.
            for retry in (1, 2, 3):
                send_all(second, [e for e in burst if e["ts"] not in slack.posted],
                         retry_num=retry)
                with contextlib.suppress(AssertionError):
                    slack.wait(lambda: len(slack.posted) == BURST, timeout=2)
            slack.wait(lambda: len(slack.posted) == BURST, timeout=1)
            # A last message answered means every retry before it was dealt with.
            control = {**burst[0], "ts": "999.000001"}
            send_all(second, [control])
            slack.wait(lambda: "999.000001" in slack.posted)
    duplicated = [ts for ts, count in slack.posted.items() if count > 1]
    assert not duplicated, f"answered twice: {duplicated}"
    assert len(slack.posted) == BURST + 1
