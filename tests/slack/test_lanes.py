"""Forms run on their own lane: a full answers' pool never delays a form."""

from __future__ import annotations

import threading

from bot.slack import blocks, home
from bot.slack.lanes import LanedExecutor, choose_lane, is_form


def test_form_requests_are_told_apart_from_the_rest() -> None:
    assert is_form({"type": "view_submission"})
    assert is_form({"type": "message_action"})
    assert is_form({"type": "block_actions", "actions": [{"action_id": blocks.EDIT}]})
    assert is_form({"type": "block_actions", "actions": [{"action_id": home.ADD}]})
    assert not is_form({"type": "block_actions", "actions": [{"action_id": blocks.VOTE_UP}]})
    assert not is_form({"type": "block_actions", "actions": "forged"})
    assert not is_form({"type": "event_callback", "event": {"type": "app_mention"}})


def test_a_form_runs_while_every_answer_thread_is_held() -> None:
    executor = LanedExecutor(answers=2, forms=1)
    release = threading.Event()
    try:
        choose_lane({"type": "event_callback"}, lambda: None)
        held = [executor.submit(release.wait, 30) for _ in range(2)]
        queued = executor.submit(lambda: "answer")
        choose_lane({"type": "view_submission"}, lambda: None)
        form = executor.submit(lambda: threading.current_thread().name)
        assert form.result(timeout=5).startswith("faqbot-form")
        assert not queued.done()
    finally:
        release.set()
        executor.shutdown(wait=True)
    assert all(h.result() for h in held) and queued.result() == "answer"
