"""Submitting the FAQ modal (``faq_edit``): check who, check the fields, save, say so.

A submission is answered in its HTTP response, so everything that can refuse it (not an
editor, a damaged form, a field the FAQ won't take, the embedder or database down) happens
before ``ack`` and is shown in the modal, by block id. Nothing is saved unless it all passes.
Once saved, the modal closes and the thread it was opened from is told, with an Edit button;
opened outside a thread (from the App Home), the editor's Home is published again instead.

Slack gives the answer 3 s. A save still running after ``ANSWER_WITHIN_SECONDS`` (a slow
embedding service) is answered with a "Saving…" view, which becomes "Saved" once it is, or
the form again, as typed, with what went wrong; if the editor closed it meanwhile, a failure
reaches them by direct message, so nothing they typed is lost without a word.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.faq.drafts import draft_row, split_alternates
from bot.slack import blocks, modals
from bot.slack.blocks import FALLBACK_LIMIT, cap, escape
from bot.slack.listeners.home import publish
from bot.slack.services import services

if TYPE_CHECKING:
    from bot.faq.sources import FaqRow

# Slack shows the editor an error when a submission isn't answered within 3 s.
ANSWER_WITHIN_SECONDS = 2.0
_SAVES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="faq-save")


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
    saving = _SAVES.submit(faq.editing.save, row, editor=editor, replacing=where.faq_id)
    try:
        saved = saving.result(timeout=ANSWER_WITHIN_SECONDS)
    except FutureTimeout:
        ack(response_action="update", view=modals.saving_modal(row.question))
        view_id = view.get("id")
        _finish_late(saving, client, view_id if isinstance(view_id, str) else None,
                     typed, where, editor, context, logger)
        return
    except UserError as error:
        logger.warning("an FAQ edit was not saved: %s", error.problem)
        _refuse(ack, {"question": f"Not saved: {error.problem}; {error.fix}."})
        return
    ack()
    _announce(client, context, where, saved, editor, logger)


def _finish_late(saving: Future[FaqRow], client: WebClient, view_id: str | None,
                 typed: modals.Draft, where: modals.Where, editor: str, context: BoltContext,
                 logger: logging.Logger) -> None:
    """After the "Saving…" answer: wait for the save, then show how it went."""
    try:
        saved = saving.result()
    except UserError as error:
        logger.warning("an FAQ edit was not saved: %s", error.problem)
        problem = f"{error.problem}; {error.fix}."
        if not _show(client, view_id, modals.edit_modal(typed, where, problem=problem), logger):
            client.chat_postMessage(channel=editor, text=cap(
                f"Your FAQ “{escape(typed.question)}” was not saved: {escape(problem)} "
                "Use the Save as FAQ shortcut to try again.", FALLBACK_LIMIT))
        return
    _show(client, view_id, modals.saved_modal(saved.question), logger)
    _announce(client, context, where, saved, editor, logger)


def _show(client: WebClient, view_id: str | None, view: dict[str, Any],
          logger: logging.Logger) -> bool:
    """Replace the modal's view; False when it can't be (closed meanwhile, or no id)."""
    if view_id is None:
        return False
    try:
        client.views_update(view_id=view_id, view=view)
    except SlackApiError as error:
        logger.warning("could not update the FAQ form: %s", error.response.get("error"))
        return False
    return True


def _announce(client: WebClient, context: BoltContext, where: modals.Where, saved: FaqRow,
              editor: str, logger: logging.Logger) -> None:
    """Say so in the thread the form came from (or, when the bot may not post there, to the
    editor directly), or publish the editor's Home again when it came from there."""
    logger.info("FAQ %s saved from Slack", saved.id)
    if not (where.channel and where.thread_ts):
        publish(client, services(context), editor, bot_user_id=context.bot_user_id or "",
                notice=f"Saved the FAQ: {saved.question}")
        return
    said = blocks.saved_message(saved, editor).as_kwargs()
    try:
        client.chat_postMessage(channel=where.channel, thread_ts=where.thread_ts, **said)
    except SlackApiError as error:
        logger.warning("could not say in its thread that FAQ %s was saved (%s); telling the "
                       "editor directly", saved.id, error.response.get("error"))
        client.chat_postMessage(channel=editor, **said)
