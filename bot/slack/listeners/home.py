"""The App Home tab: published on every open, and again after an editor's click on it.

Its buttons act only for FAQ_EDITORS, and at most once per click: a click from anyone else,
forged or not, and a redelivered one (same trigger id) change nothing. **Accept** and
**Reject** decide on a learned phrasing, then publish the view again with the outcome on
top; **Add FAQ** and **Edit** open the ``faq_edit`` modal, whose submission publishes it
again (``views.handle_edit_submission``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.errors import UserError
from bot.slack import blocks, home, modals
from bot.slack.clicks import HomeClick, from_home, read_home_click
from bot.slack.ids import USER, shaped
from bot.slack.services import Services, services

log = logging.getLogger(__name__)

EXAMPLES = 5
SUGGESTION_ID = re.compile(r"[0-9]{1,18}", re.ASCII)
GONE = "That FAQ is no longer in the FAQ, so there is nothing to edit."


def register(app: App) -> None:
    """Before ``actions.register``: Bolt runs the first listener that matches, and the FAQ
    message's Edit button shares its action id with the one here."""
    app.event("app_home_opened")(handle_home_opened)
    app.action(home.ACCEPT)(handle_accept)
    app.action(home.REJECT)(handle_reject)
    app.action(home.ADD)(handle_add)
    app.action(blocks.EDIT, matchers=[_on_home])(handle_edit)


def _on_home(body: dict[str, Any]) -> bool:
    return from_home(body)


def publish(client: WebClient, faq: Services, user: str, *, bot_user_id: str,
            notice: str = "") -> None:
    """``user``'s Home as it is now; the log's facts only if they are an FAQ editor."""
    facts = faq.home.facts() if faq.home is not None and faq.may_edit(user) else None
    client.views_publish(user_id=user, view=home.home_view(
        faqs=len(faq.answerer.faq), examples=faq.examples(EXAMPLES),
        faq_channels=faq.faq_channels, bot_user_id=bot_user_id, facts=facts, notice=notice))


def handle_home_opened(event: dict[str, Any], client: WebClient, context: BoltContext,
                       logger: logging.Logger) -> None:
    """Every open of the Home tab publishes it afresh (the Messages tab is a DM: not here)."""
    if event.get("tab") != "home":
        return
    user = event.get("user")
    if not shaped(user, USER):
        logger.warning("ignored an app_home_opened event: its user is not shaped like Slack's")
        return
    publish(client, services(context), user, bot_user_id=context.bot_user_id or "")


def editor_click(body: dict[str, Any], action: dict[str, Any],
                  context: BoltContext) -> tuple[Services, HomeClick] | None:
    """The click, if an FAQ editor made it and it wasn't handled already; else None."""
    faq = services(context)
    click = read_home_click(body, action)
    if click is None:
        return None
    if not faq.may_edit(click.user):
        log.warning("ignored an App Home click from someone not in FAQ_EDITORS")
        return None
    if not faq.claim_for_good(click.team, "click", click.trigger_id):
        log.info("an App Home click was handled already: not again")
        return None
    return faq, click


def _decide(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
            context: BoltContext, *, accept: bool) -> None:
    ack()
    clicked = editor_click(body, action, context)
    if clicked is None:
        return
    faq, click = clicked
    if faq.learning is None or not shaped(click.value, SUGGESTION_ID):
        log.warning("ignored an App Home decision: no learning here, or no suggestion id")
        return
    suggestion = int(click.value)
    try:
        if accept:
            faq.learning.accept(suggestion, by=click.user)
            notice = (f"Accepted suggestion {suggestion}: it is a phrasing of its FAQ now, "
                      "answered by every process within 10 s.")
        else:
            faq.learning.reject(suggestion, by=click.user)
            notice = f"Rejected suggestion {suggestion}."
    except UserError as error:
        notice = f"Suggestion {suggestion} was not changed: {error.problem}."
    log.info("App Home: %s", notice)
    publish(client, faq, click.user, bot_user_id=context.bot_user_id or "", notice=notice)


def handle_accept(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
                  context: BoltContext) -> None:
    """Add the suggestion as an alternate of its FAQ, then show the Home without it."""
    _decide(ack, body, action, client, context, accept=True)


def handle_reject(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
                  context: BoltContext) -> None:
    _decide(ack, body, action, client, context, accept=False)


def handle_add(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
               context: BoltContext) -> None:
    """Open the FAQ modal on an unanswered question; opened outside a thread, it posts
    nothing once saved (its ``private_metadata`` is empty)."""
    ack()
    clicked = editor_click(body, action, context)
    if clicked is None:
        return
    _, click = clicked
    client.views_open(trigger_id=click.trigger_id, view=modals.edit_modal(
        modals.Draft(question=click.value), modals.Where()))


def handle_edit(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
                context: BoltContext) -> None:
    """The FAQ message's Edit, from the Home: the modal on the FAQ as it is now."""
    ack()
    clicked = editor_click(body, action, context)
    if clicked is None:
        return
    faq, click = clicked
    entry = faq.entry(click.value)
    if entry is None:
        publish(client, faq, click.user, bot_user_id=context.bot_user_id or "", notice=GONE)
        return
    client.views_open(trigger_id=click.trigger_id, view=modals.edit_modal(
        modals.draft_of(entry), modals.editing(entry)))
