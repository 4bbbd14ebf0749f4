"""Button clicks: pick one of several FAQs, vote on an answer, share a private answer, edit
a saved FAQ.

Every button's value is an FAQ id, so a click is answered from the loaded dataset, and
re-rendered from it, never from the blocks the payload says the message had. Only what
``read_click`` checked of the payload is used.

Clicks reply once, through the same claims as messages: a click Slack delivers again (same
trigger id) is not handled again, and a public post is made once per (message, FAQ).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.slack import blocks, modals
from bot.slack.clicks import Click, read_click
from bot.slack.ids import asked_privately
from bot.slack.services import Services, services

if TYPE_CHECKING:
    from bot.faq.sources import FaqRow
    from bot.storage import AskedQuestion

log = logging.getLogger(__name__)

GONE = "That FAQ is no longer in the dataset; ask again to get the current answer."
ALREADY_POSTED = "That answer is already posted above."
# More than a choices message ever shows; a payload listing more is cut here.
MAX_SHOWN = 10


def register(app: App) -> None:
    app.action(re.compile(rf"^{blocks.CHOICE_ACTION_PREFIX}\d+$"))(handle_choice)
    app.action(re.compile(rf"^({blocks.VOTE_UP}|{blocks.VOTE_DOWN})$"))(handle_vote)
    app.action(blocks.SHARE)(handle_share)
    app.action(blocks.EDIT)(handle_edit)


def checked_click(body: dict[str, Any], action: dict[str, Any],
                  context: BoltContext) -> tuple[Services, Click] | None:
    """A button click on a message, read as far as Slack vouches for it, and handled once:
    None when it is malformed, or a redelivery of one already handled."""
    faq = services(context)
    click = read_click(body, action, response_urls=faq.response_urls,
                       bot_user_id=context.bot_user_id or "", bot_id=context.bot_id or "")
    if click is None:
        return None
    if click.trigger_id and not faq.claim_for_good(click.team, "click", click.trigger_id):
        log.info("a click on message %s in %s was handled already: not again",
                 click.message_ts, click.channel)
        return None
    return faq, click


def _clicked(body: dict[str, Any], action: dict[str, Any], context: BoltContext,
             respond: Respond) -> tuple[Services, Click, FaqRow] | None:
    """What every FAQ button needs: the checked click and the FAQ its value names. None as
    for ``checked_click``, or for an FAQ that is gone (the clicker is told)."""
    checked = checked_click(body, action, context)
    if checked is None:
        return None
    faq, click = checked
    entry = faq.entry(click.value)
    if entry is None:
        respond(text=GONE, response_type="ephemeral", replace_original=False)
        return None
    return faq, click, entry


def _first_post(faq: Services, click: Click, kind: str, faq_id: str,
                respond: Respond) -> bool:
    """True once per (message, FAQ, kind of post); a repeat click is told so privately."""
    if not click.message_ts:  # nothing to key on: Slack sent no ts for this message
        return True
    if faq.claim_for_good(click.team, f"{kind}:{click.channel}:{click.message_ts}", faq_id):
        return True
    respond(text=ALREADY_POSTED, response_type="ephemeral", replace_original=False)
    return False


def _learn(faq: Services, click: Click, faq_id: str) -> None:
    """The asker's own pick or 👍 on the bot's reply (public, or private from /faq) teaches
    a phrasing."""
    if faq.learning is not None and click.asked:
        faq.learning.confirmed(team=click.team, channel=click.channel, reply_ts=click.asked,
                               user=click.user, faq_id=faq_id)


def _alternatives(faq: Services, click: Click, faq_id: str) -> list[FaqRow]:
    """After the asker's 👎, the next closest FAQs (none for anyone else)."""
    if faq.learning is None or not click.asked:
        return []
    ids = faq.learning.alternatives(team=click.team, channel=click.channel,
                                    reply_ts=click.asked, user=click.user, instead_of=faq_id)
    return [entry for entry in map(faq.entry, ids) if entry is not None]


def asked_of(faq: Services, click: Click) -> AskedQuestion | None:
    """The question the clicked reply answered, if the clicker asked it (and the hand-off,
    which keeps the log's lookup, is on)."""
    if faq.handoff is None or not click.asked:
        return None
    return faq.handoff.store.asked_question(team=click.team, channel=click.channel,
                                            reply_ts=click.asked, user=click.user)


def _private(click: Click, shown: list[blocks.Block]) -> list[blocks.Block]:
    """A private reply redrawn keeps its key, so later clicks on it still lead back."""
    return blocks.keyed(shown, click.asked) if click.ephemeral and click.asked else shown


def _elements(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The elements of the clicked message's blocks (none for an ephemeral message: Slack
    sends no blocks for it)."""
    message = body.get("message")
    return [element
            for block in (message.get("blocks") if isinstance(message, dict) else None) or []
            if isinstance(block, dict)
            for element in block.get("elements") or []
            if isinstance(element, dict)]


def _choices_shown(faq: Services, body: dict[str, Any]) -> list[str]:
    """The FAQ ids on the message's choice buttons, in order, keeping only FAQs that exist
    (ephemeral messages carry no blocks, so there it is unknown and empty)."""
    found = [element.get("value") for element in _elements(body)
             if str(element.get("action_id", "")).startswith(blocks.CHOICE_ACTION_PREFIX)]
    known = [value for value in found if isinstance(value, str) and faq.entry(value)]
    return list(dict.fromkeys(known))[:MAX_SHOWN]


def _follow_up(faq: Services, body: dict[str, Any]) -> list[FaqRow]:
    """The choices an earlier 👎 of the asker's put under this answer, redrawn from the
    loaded dataset, so a later vote (anyone's, either way) doesn't wipe them."""
    return [entry for entry in map(faq.entry, _choices_shown(faq, body)) if entry is not None]


def _offers_a_person(body: dict[str, Any]) -> bool:
    """True when the message clicked on shows Ask a person (the asker's 👎 put it there)."""
    return any(element.get("action_id") == blocks.ESCALATE for element in _elements(body))


def handle_choice(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond,
                  client: WebClient, context: BoltContext) -> None:
    """Show the chosen answer: in the thread for a public message, in place for /faq."""
    ack()
    clicked = _clicked(body, action, context, respond)
    if clicked is None:
        return
    faq, click, entry = clicked
    if faq.recorder is not None:
        faq.recorder.log_choice(**click.where(), chosen=entry.id,
                                shown=_choices_shown(faq, body))
    if click.ephemeral:
        shown = blocks.answer_message(entry, shareable=True)
        respond(replace_original=True, text=shown.text, blocks=_private(click, shown.blocks))
    elif _first_post(faq, click, "choice", entry.id, respond):
        client.chat_postMessage(channel=click.channel, thread_ts=click.thread_ts,
                                **blocks.answer_message(entry).as_kwargs())
    _learn(faq, click, entry.id)  # after the answer: it waits for no learning


def handle_vote(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond,
                context: BoltContext, logger: logging.Logger) -> None:
    """Record the vote and update the message so the voter sees it was counted; after the
    asker's 👎, offer the next closest FAQs, so their pick can teach the right one."""
    ack()
    clicked = _clicked(body, action, context, respond)
    if clicked is None:
        return
    faq, click, entry = clicked
    helpful = action.get("action_id") == blocks.VOTE_UP
    logger.info("feedback faq=%s helpful=%s channel=%s", entry.id, helpful, click.channel)
    if faq.recorder is not None:
        faq.recorder.log_vote(**click.where(), faq_id=entry.id, vote="up" if helpful else "down")
    shown = blocks.answer_message(entry, shareable=click.ephemeral).blocks
    others = [] if helpful else _alternatives(faq, click, entry.id)
    person = (not helpful and asked_of(faq, click) is not None and faq.offers_a_person(
        click.channel, private=asked_privately(click.channel, click.asked)))
    if not (others or person):  # anyone's later vote keeps what the asker's 👎 added
        others, person = _follow_up(faq, body), _offers_a_person(body)
    if others or person:
        shown = blocks.with_other_choices(shown, others, ask_person=person)
    note = blocks.vote_note(click.user, helpful)
    respond(replace_original=True, text=note,
            blocks=_private(click, blocks.with_vote_note(shown, note)))
    if helpful:
        _learn(faq, click, entry.id)  # after the update: it waits for no learning


def handle_share(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond,
                 context: BoltContext) -> None:
    """Post the private /faq answer in the channel, then remove the private copy."""
    ack()
    clicked = _clicked(body, action, context, respond)
    if clicked is None:
        return
    faq, click, entry = clicked
    if not _first_post(faq, click, "share", entry.id, respond):
        return
    note = f"Shared by <@{click.user}> from `/faq`"
    respond(response_type="in_channel", replace_original=False,
            **blocks.answer_message(entry, note=note).as_kwargs())
    respond(delete_original=True)


def handle_edit(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond,
                client: WebClient, context: BoltContext) -> None:
    """Open the FAQ modal on the FAQ as it is now, for editors; others are told privately."""
    ack()
    clicked = _clicked(body, action, context, respond)
    if clicked is None:
        return
    faq, click, entry = clicked
    if not faq.may_edit(click.user):
        respond(text=modals.NOT_AN_EDITOR, response_type="ephemeral", replace_original=False)
        return
    if not click.trigger_id:  # a modal opens only on a trigger
        return
    thread = click.thread_ts or click.message_ts  # "Saved as an FAQ" is in the thread
    where = (modals.editing(entry, channel=click.channel, thread_ts=thread) if thread
             else modals.editing(entry))
    client.views_open(trigger_id=click.trigger_id,
                      view=modals.edit_modal(modals.draft_of(entry), where))
