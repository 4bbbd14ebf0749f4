"""``/faq <question>``: ack at once, then answer privately through the response_url."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.errors import EmbeddingServiceError
from bot.slack import blocks
from bot.slack.services import services
from bot.slack.text import clean

COMMAND = "/faq"
HELP_WORDS = frozenset({"", "help", "?"})


def register(app: App) -> None:
    app.command(COMMAND)(handle_faq)


def handle_faq(ack: Ack, command: dict[str, Any], respond: Respond, context: BoltContext,
               logger: logging.Logger) -> None:
    ack()
    started = time.perf_counter()
    faq = services(context)
    question = clean(command.get("text") or "")
    answer = None
    if question.lower() in HELP_WORDS:
        message = blocks.help_message(faq.examples())
    else:
        try:
            answer = faq.answerer.ask(question)
        except EmbeddingServiceError as error:
            logger.warning("embedding service failed for /faq: %s", error.problem)
            message = blocks.unavailable_message()
        else:
            message = blocks.for_answer(answer, asked_directly=True, via_command=True)
    if message is not None:
        respond(response_type="ephemeral", **message.as_kwargs())
    if answer is not None and faq.recorder is not None:
        # A slash command has no message ts; its trigger id is unique per invocation.
        faq.recorder.log_question(
            team=str(command.get("team_id", "")), channel=str(command.get("channel_id", "")),
            ts=f"command:{command.get('trigger_id', '')}", user=str(command.get("user_id", "")),
            text=question, answer=answer, latency_ms=(time.perf_counter() - started) * 1000,
            direct=True)
