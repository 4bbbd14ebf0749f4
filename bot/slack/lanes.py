"""Two lanes for listeners: forms never wait behind answers.

Slack closes a modal whose submission isn't answered within 3 s, and a ``trigger_id`` for
opening one expires as fast. Answers to questions can hold every listener thread for
seconds each (a slow embedding service), so a form queued behind them would be answered
with Bolt's empty timeout ack: the modal closes, and a refusal reaches nobody. A global
middleware marks each request's lane in a context variable; Bolt then submits the listener
from that same thread, and the executor picks the lane's pool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any

from bot.slack import blocks, handoff_blocks, home

ANSWER_THREADS = 8  # each mostly waits on Slack or the embedder
# Forms check, then save (a save outlasting 2 s is answered "Saving…"): enough that a few
# saves held by a slow embedder leave a thread for the next form's refusal.
FORM_THREADS = 4
FORM_PAYLOADS = frozenset({"view_submission", "message_action", "shortcut"})
# Buttons whose listener opens a modal on the click's trigger_id.
MODAL_BUTTONS = frozenset({blocks.EDIT, home.ADD, handoff_blocks.SAVE_REPLY,
                           handoff_blocks.SAVE_REPLY_TO})

_in_form_lane: ContextVar[bool] = ContextVar("faqbot_form_lane", default=False)


def is_form(body: Mapping[str, Any]) -> bool:
    """A request Slack needs answered within 3 s: a form's submission or opening."""
    kind = body.get("type")
    if kind in FORM_PAYLOADS:
        return True
    actions = body.get("actions") if kind == "block_actions" else None
    return (isinstance(actions, list) and len(actions) == 1 and isinstance(actions[0], Mapping)
            and actions[0].get("action_id") in MODAL_BUTTONS)


def choose_lane(body: dict[str, Any], next: Callable[[], None]) -> None:
    """Bolt global middleware: set, for every request, which lane its listener runs in."""
    _in_form_lane.set(is_form(body))
    next()


class LanedExecutor(Executor):
    """Bolt's ``listener_executor``: forms on a small pool of their own, the rest on the
    answers' pool."""

    def __init__(self, *, answers: int = ANSWER_THREADS, forms: int = FORM_THREADS) -> None:
        self._answers = ThreadPoolExecutor(max_workers=answers,
                                           thread_name_prefix="faqbot-listener")
        self._forms = ThreadPoolExecutor(max_workers=forms, thread_name_prefix="faqbot-form")

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        pool = self._forms if _in_form_lane.get() else self._answers
        return pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        for pool in (self._forms, self._answers):
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)
