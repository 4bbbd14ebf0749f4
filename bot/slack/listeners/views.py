"""Submitting the FAQ modal (``faq_edit``): check who, check the fields, save, say so.

A submission is answered in its HTTP response, so everything that can refuse it (not an
editor, a damaged form, a field the FAQ won't take, the embedder or database down) happens
before ``ack`` and is shown in the modal, by block id. Nothing is saved unless it all passes.
Once saved, the modal closes and the thread it was opened from is told, with an Edit button;
opened outside a thread (from the App Home), the editor's Home is published again instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.errors import UserError
from bot.faq.drafts import draft_row, split_alternates
from bot.slack import blocks, modals
from bot.slack.listeners.home import publish
from bot.slack.services import services


def register(app: App) -> None:
    app.view_submission(modals.EDIT_CALLBACK)(handle_edit_submission)


def _refuse(ack: Ack, problems: Mapping[str, str]) -> None:
    ack(response_action="errors", errors=modals.errors(problems))


def handle_edit_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                           client: WebClient, context: BoltContext,
                           logger: logging.Logger) -> None:
    faq = services(context)
    user = body.get("user")
    editor = user.get("id") if isinstance(user, Mapping) else None
    if faq.editing is None or not (isinstance(editor, str) and faq.may_edit(editor)):
        logger.warning("refused an FAQ edit from someone not in FAQ_EDITORS")
        _refuse(ack, {"question": modals.NOT_AN_EDITOR})
        return
    where = modals.read_where(view.get("private_metadata"))
    if where is None:
        logger.warning("refused an FAQ edit: its private_metadata is not one this app wrote")
        _refuse(ack, {"question": modals.DAMAGED})
        return
    typed = modals.read_draft(view)
    current = faq.entry(where.faq_id) if where.faq_id else None
    row = draft_row(question=typed.question, answer=typed.answer, url=typed.url,
                    alternates=split_alternates(typed.alternates), faq_id=where.faq_id or "",
                    category=current.category if current else "")
    problems = faq.editing.problems(row, replacing=where.faq_id)
    if problems:
        _refuse(ack, problems)
        return
    try:
        saved = faq.editing.save(row, editor=editor, replacing=where.faq_id)
    except UserError as error:
        logger.warning("an FAQ edit was not saved: %s", error.problem)
        _refuse(ack, {"question": f"Not saved: {error.problem}; {error.fix}."})
        return
    ack()
    logger.info("FAQ %s saved from Slack", saved.id)
    if where.channel and where.thread_ts:
        client.chat_postMessage(channel=where.channel, thread_ts=where.thread_ts,
                                **blocks.saved_message(saved, editor).as_kwargs())
    else:
        publish(client, faq, editor, bot_user_id=context.bot_user_id or "",
                notice=f"Saved the FAQ: {saved.question}")
