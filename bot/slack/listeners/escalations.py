"""Asking a person: the buttons (Ask a person, I'll take it, Resolved, Reopen, Save as FAQ,
Add to an FAQ) and the thread replies that answer an escalated question.

Every click is read only as far as Slack vouches for it (``read_click``), acted on once
(its trigger id is claimed), and checked against the escalation it names: the message
clicked must be that escalation's own post or card, and the clicker must be someone who may
do that. Anyone else is told privately, and nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.slack import blocks, handoff, handoff_blocks, modals
from bot.slack.clicks import Click, from_home
from bot.slack.ids import ESCALATION, TS, USER, shaped
from bot.slack.listeners.actions import asked_of, checked_click
from bot.slack.listeners.home import editor_click
from bot.slack.services import Services
from bot.slack.text import plain

if TYPE_CHECKING:
    from bot.storage import Escalation

log = logging.getLogger(__name__)

ONLY_ASKER = "Only the person who asked can do that."
ASKED_ALREADY = "A person has been asked already; their answer will come in the thread."
NOBODY = "Nobody is set to answer questions from here (FAQ_EXPERTS), so I can't ask a person."
NOT_THIS = "That button doesn't belong to this question any more."
MAY_NOT_RESOLVE = "Only the person who asked, its experts or an FAQ editor can do that."
MAY_NOT_CLAIM = "Only the experts this question went to, or an FAQ editor, can take it."
# Messages that count as someone's reply in a thread; others (joins, edits, bots) don't.
REPLY_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})


def register(app: App) -> None:
    app.action(blocks.ESCALATE)(handle_escalate)
    app.action(handoff_blocks.CLAIM)(handle_claim)
    app.action(handoff_blocks.RESOLVE)(handle_resolve)
    app.action(handoff_blocks.REOPEN)(handle_reopen)
    app.action(handoff_blocks.SAVE_REPLY)(handle_save_reply)
    app.action(handoff_blocks.SAVE_REPLY_TO)(handle_save_reply_to)


def _tell(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def _click(body: dict[str, Any], action: dict[str, Any],
           context: BoltContext) -> tuple[Services, Click] | None:
    """The checked click, once, where asking a person is on."""
    checked = checked_click(body, action, context)
    if checked is None or checked[0].handoff is None:
        return None
    return checked


def _why(error: UserError | SlackApiError) -> str:
    """What went wrong, in one line without secrets: the problem, or Slack's error code."""
    return error.problem if isinstance(error, UserError) else str(error.response.get("error"))


def _escalation(faq: Services, value: str) -> Escalation | None:
    """The escalation a button's value names; None for a value not shaped like an id."""
    assert faq.handoff is not None
    return faq.handoff.store.escalation(int(value)) if shaped(value, ESCALATION) else None


def handle_escalate(ack: Ack, action: dict[str, Any], body: dict[str, Any],
                    respond: Respond, client: WebClient, context: BoltContext) -> None:
    """The asker's Ask a person: hand the question to its experts, once."""
    ack()
    clicked = _click(body, action, context)
    if clicked is None:
        return
    faq, click = clicked
    assert faq.handoff is not None
    asked = asked_of(faq, click)
    if asked is None:
        _tell(respond, ONLY_ASKER)
        return
    try:
        outcome = handoff.escalate(client, faq, team=click.team, channel=click.channel,
                                   asked=asked, asker=click.user, thread_ts=click.thread_ts)
    except (UserError, SlackApiError) as error:
        log.warning("a question was not handed to a person: %s", _why(error))
        _tell(respond, "I couldn't ask a person just now; please try again in a minute.")
        return
    if outcome.escalation is None:
        _tell(respond, NOBODY)
    elif not outcome.made:
        _tell(respond, ASKED_ALREADY)
    elif outcome.escalation.private:
        _tell(respond, "I've asked a person. Their answer will come to you by direct "
                       "message.")


def _escalation_clicked(body: dict[str, Any], action: dict[str, Any], context: BoltContext,
                        respond: Respond) -> tuple[Services, Click, Escalation] | None:
    """The click and the escalation its button names, if the message clicked is that
    escalation's own post or card."""
    clicked = _click(body, action, context)
    if clicked is None:
        return None
    faq, click = clicked
    escalation = _escalation(faq, click.value)
    if escalation is None or click.message_ts not in (escalation.post_ts, escalation.card_ts):
        _tell(respond, NOT_THIS)
        return None
    return faq, click, escalation


def handle_claim(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond,
                 client: WebClient, context: BoltContext) -> None:
    """I'll take it: the first person to claim it, other than its asker."""
    ack()
    found = _escalation_clicked(body, action, context, respond)
    if found is None:
        return
    faq, click, escalation = found
    assert faq.handoff is not None
    if click.user == escalation.asker:
        _tell(respond, "You asked this one: one of the experts will take it.")
        return
    if not handoff.may_claim(client, faq, escalation, click.user):
        _tell(respond, MAY_NOT_CLAIM)
        return
    if not faq.handoff.store.change_escalation(escalation.id, "claim", user=click.user):
        now = faq.handoff.store.escalation(escalation.id) or escalation
        _tell(respond, f"<@{now.claimed_by}> took it already." if now.claimed_by
              else "It can't be taken now: it is resolved.")
        return
    handoff.redraw(client, faq.handoff, faq.handoff.store.escalation(escalation.id)
                   or escalation)


def _settle(action: dict[str, Any], body: dict[str, Any], respond: Respond,
            client: WebClient, context: BoltContext, change: str) -> None:
    """Resolve or reopen, by someone who may: then its post, card and reaction follow."""
    found = _escalation_clicked(body, action, context, respond)
    if found is None:
        return
    faq, click, escalation = found
    assert faq.handoff is not None
    if not handoff.may_resolve(client, faq, escalation, click.user):
        _tell(respond, MAY_NOT_RESOLVE)
        return
    values = {"user": click.user} if change == "resolve" else {}
    if not faq.handoff.store.change_escalation(escalation.id, change, **values):
        return  # resolved (or reopened) a moment ago by someone else: already shown
    now = faq.handoff.store.escalation(escalation.id) or escalation
    handoff.redraw(client, faq.handoff, now)
    handoff.settle_reaction(client, faq.handoff, now)


def handle_resolve(ack: Ack, action: dict[str, Any], body: dict[str, Any],
                   respond: Respond, client: WebClient, context: BoltContext) -> None:
    ack()
    _settle(action, body, respond, client, context, "resolve")


def handle_reopen(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond,
                  client: WebClient, context: BoltContext) -> None:
    ack()
    _settle(action, body, respond, client, context, "reopen")


def _save_click(body: dict[str, Any], action: dict[str, Any], context: BoltContext,
                respond: Respond) -> tuple[Services, str, str, Escalation, str] | None:
    """A Save as FAQ click (on the private offer, or on an editor's App Home): the services,
    the clicker, the trigger, the answered escalation, and the rest of the button's value."""
    if from_home(body):  # only editors' Homes show it; anyone else's click is dropped
        on_home = editor_click(body, action, context)
        if on_home is None:
            return None
        faq, home_click = on_home
        user, trigger, value = home_click.user, home_click.trigger_id, home_click.value
    else:
        clicked = _click(body, action, context)
        if clicked is None:
            return None
        faq, click = clicked
        if not faq.may_edit(click.user):
            _tell(respond, handoff.who_can_save(faq))
            return None
        user, trigger, value = click.user, click.trigger_id, click.value
    if faq.handoff is None or not trigger:  # a modal opens only on a trigger
        return None
    number, _, rest = value.partition(":")
    escalation = _escalation(faq, number)
    if escalation is None or not escalation.answer:
        return None
    return faq, user, trigger, escalation, rest


def _where(escalation: Escalation, **editing: str | None) -> modals.Where:
    thread = ({"channel": escalation.thread_channel, "thread_ts": escalation.thread_ts}
              if shaped(escalation.thread_ts, TS) else {})
    return modals.Where(**thread, **editing, escalation=str(escalation.id))


def handle_save_reply(ack: Ack, action: dict[str, Any], body: dict[str, Any],
                      respond: Respond, client: WebClient, context: BoltContext) -> None:
    """Save as FAQ: the form, prefilled with the asker's question (also as its first other
    way to ask it, once the editor rewrites the question) and the expert's reply."""
    ack()
    found = _save_click(body, action, context, respond)
    if found is None:
        return
    _, _, trigger, escalation, _ = found
    question = escalation.question or ""
    draft = modals.Draft(question=question, answer=escalation.answer or "",
                         alternates=question)
    client.views_open(trigger_id=trigger, view=modals.edit_modal(draft, _where(escalation)))


def handle_save_reply_to(ack: Ack, action: dict[str, Any], body: dict[str, Any],
                         respond: Respond, client: WebClient, context: BoltContext) -> None:
    """Add to an FAQ: the form on that FAQ as it is now, with the asker's question added as
    another way to ask it."""
    ack()
    found = _save_click(body, action, context, respond)
    if found is None:
        return
    faq, _, trigger, escalation, faq_id = found
    entry = faq.entry(faq_id)
    if entry is None or not escalation.question:
        return
    draft = modals.draft_of(entry)
    draft = modals.Draft(question=draft.question, answer=draft.answer, url=draft.url,
                         alternates="\n".join(filter(None, (draft.alternates,
                                                            escalation.question))))
    where = _where(escalation, faq_id=entry.id,
                   seen=modals.editing(entry).seen)
    client.views_open(trigger_id=trigger, view=modals.edit_modal(draft, where))


def record_reply(event: Mapping[str, Any], team: str, faq: Services, client: WebClient,
                 *, bot_user_id: str) -> bool:
    """A person's reply in a thread: if the thread is an escalation's, it may answer it.
    True when it is in an escalation's thread: a conversation among people, which the bot
    answers only when mentioned (in a DM with the experts it would otherwise answer all)."""
    if faq.handoff is None:
        return False
    thread_ts, ts, user = event.get("thread_ts"), event.get("ts"), event.get("user")
    if (event.get("subtype") not in REPLY_SUBTYPES or event.get("bot_id")
            or not shaped(user, USER) or user == bot_user_id
            or not (shaped(thread_ts, TS) and shaped(ts, TS)) or thread_ts == ts):
        return False
    channel = str(event.get("channel") or "")
    escalation = faq.handoff.store.escalation_in_thread(channel, thread_ts)
    if escalation is None:
        return False  # most threads: one indexed read, nothing written
    if not faq.claim_for_good(team, "escalation-reply", f"{channel}:{ts}"):
        return True
    try:
        handoff.record_reply(client, faq, escalation, user=user,
                             text=plain(str(event.get("text") or "")))
    except (UserError, SlackApiError) as error:
        log.warning("a reply to an escalated question was not fully recorded: %s",
                    _why(error))
    return True
