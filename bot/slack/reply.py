"""The one reply flow: a question from a message or from ``/faq`` in, at most one reply out.

Messages and the slash command differ only in where the reply goes (a thread, or the
command's private response) and in what counts as asking for help; everything else, from
cleaning the text to logging the latency, happens here once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import EmbeddingServiceError
from bot.slack import blocks
from bot.slack.ids import asked_privately
from bot.slack.services import Services
from bot.slack.text import clean

# What `/faq` takes as a request for usage rather than a question.
HELP_WORDS = frozenset({"", "help", "?"})

# Posts the reply; returns what clicks on it lead back from: its ts, or a private reply's key.
Post = Callable[[blocks.Message], str | None]


@dataclass(frozen=True, kw_only=True)
class Asked:
    """Who asked what, where: the fields every log row carries."""

    team: str
    channel: str
    ts: str  # the message's ts, or "command:<trigger_id>" for /faq
    user: str
    text: str  # as Slack sent it, markup included
    asked_directly: bool  # a mention, DM or /faq: always gets a reply
    via_command: bool = False

    @property
    def private(self) -> bool:
        """Asked where only the asker sees the reply: ``/faq``, or a direct message."""
        return asked_privately(self.channel, self.ts)


def answer(asked: Asked, faq: Services, post: Post, logger: logging.Logger) -> None:
    """Clean, ask, post the reply (if any) with ``post``, then log the question."""
    started = time.perf_counter()
    question = clean(asked.text)
    result = None
    if not question or (asked.via_command and question.lower() in HELP_WORDS):
        message = blocks.help_message(faq.examples()) if asked.asked_directly else None
    else:
        try:
            result = faq.answerer.ask(question)
        except EmbeddingServiceError as error:
            logger.warning("embedding service failed for a question in %s: %s",
                           asked.channel, error.problem)
            message = blocks.unavailable_message() if asked.asked_directly else None
        else:
            if not asked.asked_directly:  # unprompted: the stricter channel decision
                result = result.unprompted()
            message = blocks.for_answer(result, asked_directly=asked.asked_directly,
                                        via_command=asked.via_command,
                                        ask_person=faq.offers_a_person(asked.channel,
                                                                       private=asked.private))
    reply_ts = post(message) if message is not None else None
    if result is not None and faq.recorder is not None:  # after the reply: it waits for no log
        faq.recorder.log_question(
            team=asked.team, channel=asked.channel, ts=asked.ts, user=asked.user,
            text=result.question, answer=result, latency_ms=(time.perf_counter() - started) * 1000,
            direct=asked.asked_directly, reply_ts=reply_ts)
