"""Submitting the FAQ modal (``faq_edit``): check who, check the fields, save, say so.

A submission is answered in its HTTP response, so everything that can refuse it (not an
editor, a damaged form, a field the FAQ won't take, the embedder or database down) happens
before ``ack`` and is shown in the modal, by block id. Nothing is saved unless it all passes.
Once saved, the modal closes and the thread it was opened from is told, with an Edit button
(the editor, by direct message, when the bot may not post there); opened outside a thread
(from the App Home), the editor's Home is published again instead.

Slack gives the answer 3 s from sending the request. A save still running
``ANSWER_WITHIN_SECONDS`` after the request arrived (a slow embedding service) is answered
with a "Saving…" view instead, which then becomes "Saved", or the form again, as typed, with
what went wrong on top; if the editor closed it meanwhile, a failure reaches them by direct
message, so nothing they typed is lost without a word.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.faq.drafts import draft_row, split_lines
from bot.faq.revisions import EditChanged, Seen
from bot.slack import blocks, modals
from bot.slack.blocks import FALLBACK_LIMIT, cap, escape
from bot.slack.listeners.home import publish
from bot.slack.services import received_at, services

if TYPE_CHECKING:
    from bot.faq.sources import FaqRow

# Of Slack's 3 s, what a save may take before the submission is answered "Saving…".
ANSWER_WITHIN_SECONDS = 2.0
# Slack may apply that answer after a views.update sent right behind it, which would leave
# the form saying "Saving…" for good: the update waits this long after the answer.
UPDATE_AFTER_ANSWER_SECONDS = 1.0
BROKEN = "something went wrong inside faqbot; whoever runs it will find it in its log"
# chat.postMessage errors that mean the bot may not post in that conversation.
CANT_POST_THERE = frozenset({"not_in_channel", "channel_not_found", "is_archived",
                             "restricted_action"})


def register(app: App) -> None:
    app.view_submission(modals.EDIT_CALLBACK)(handle_edit_submission)


def _errors(problems: Mapping[str, str]) -> dict[str, Any]:
    """The submission's answer that keeps the form open, ``problems`` under their fields."""
    return {"response_action": "errors", "errors": modals.errors(problems)}


def _refuse(ack: Ack, problems: Mapping[str, str]) -> None:
    ack(**_errors(problems))


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
                    alternates=split_lines(typed.alternates), faq_id=where.faq_id or "",
                    category=current.category if current else "")
    problems = faq.editing.problems(row, replacing=where.faq_id)
    if problems:
        _refuse(ack, problems)
        return
    answer = _Answer(ack)
    deadline = received_at(context) + ANSWER_WITHIN_SECONDS - time.monotonic()
    timer = threading.Timer(max(0.0, deadline), answer.saving, args=(row.question,))
    timer.daemon = True
    timer.start()
    try:
        saved: FaqRow | None = faq.editing.save(row, editor=editor, replacing=where.faq_id,
                                                since=Seen.decode(where.seen), merge=False)
    except EditChanged as changed:
        logger.info("an FAQ edit was not saved: %s changed since the form opened",
                    changed.current.id)
        saved, refused = None, _Refusal(
            modals.changed_modal(typed if changed.merged is None
                                 else modals.draft_of(changed.merged),
                                 replace(modals.editing(changed.current,
                                                        channel=where.channel,
                                                        thread_ts=where.thread_ts),
                                         escalation=where.escalation), changed),
            "someone changed it since you opened the form.")
    except UserError as error:
        logger.warning("an FAQ edit was not saved: %s", error.problem)
        saved, refused = None, _refusal(typed, where, f"{error.problem}; {error.fix}.")
    except Exception:
        logger.exception("an FAQ edit was not saved")
        saved, refused = None, _refusal(typed, where, f"{BROKEN}.")
    finally:
        timer.cancel()
    if saved is None:
        if not answer.now(**refused.response):
            answer.wait_before_update()
            if not _show(client, view, refused.view, logger):
                client.chat_postMessage(channel=editor, text=cap(
                    f"Your FAQ “{escape(typed.question)}” was not saved: "
                    f"{escape(refused.reason)} Use the Save as FAQ shortcut to try again.",
                    FALLBACK_LIMIT))
        return
    if not answer.now():
        answer.wait_before_update()
        _show(client, view, modals.saved_modal(saved.question), logger)
    if where.escalation and faq.handoff is not None:
        faq.handoff.store.change_escalation(int(where.escalation), "saved_as", faq_id=saved.id)
    _announce(client, context, where, saved, editor, logger)


@dataclass(frozen=True)
class _Refusal:
    """A save that didn't happen: the form to show again, and why, in words for a DM."""

    view: dict[str, Any]
    reason: str
    errors: Mapping[str, str] | None = None

    @property
    def response(self) -> dict[str, Any]:
        """The submission's answer: errors under the fields, or the form redrawn."""
        if self.errors is not None:
            return _errors(self.errors)
        return {"response_action": "update", "view": self.view}


def _refusal(typed: modals.Draft, where: modals.Where, problem: str) -> _Refusal:
    return _Refusal(modals.edit_modal(typed, where, problem=problem), problem,
                    {"question": f"Not saved: {problem}"})


class _Answer:
    """The submission's one answer: the outcome, if the save ends in time, else "Saving…"
    from the timer at the deadline; whichever comes first, once."""

    def __init__(self, ack: Ack) -> None:
        self._ack = ack
        self._lock = threading.Lock()
        self._given = False
        self._saving_at: float | None = None

    def now(self, **response: Any) -> bool:
        """Answer with ``response``; False when "Saving…" was answered already."""
        with self._lock:
            if self._given:
                return False
            self._given = True
            self._ack(**response)
        return True

    def saving(self, question: str) -> None:
        with self._lock:
            if self._given:
                return
            self._given = True
            self._saving_at = time.monotonic()
            self._ack(response_action="update", view=modals.saving_modal(question))

    def wait_before_update(self) -> None:
        """Until Slack has surely shown "Saving…", so an update isn't overwritten by it."""
        if self._saving_at is not None:
            time.sleep(max(0.0, self._saving_at + UPDATE_AFTER_ANSWER_SECONDS
                           - time.monotonic()))


def _show(client: WebClient, view: Mapping[str, Any], shown: dict[str, Any],
          logger: logging.Logger) -> bool:
    """Replace the modal's view; False when it can't be (closed meanwhile, or no id)."""
    view_id = view.get("id")
    if not isinstance(view_id, str) or not view_id:
        return False
    try:
        client.views_update(view_id=view_id, view=shown)
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
        reason = error.response.get("error")
        if reason not in CANT_POST_THERE:
            raise
        logger.warning("could not say in its thread that FAQ %s was saved (%s); telling the "
                       "editor directly", saved.id, reason)
        client.chat_postMessage(channel=editor, **said)
