"""Asking a person: hand a question to its experts, keep the escalation's post, card and
reaction in step with it, record the first human reply, and send the one reminder.

The database decides every race (``Escalations``: each change applies once); this module
only says what happened, where the asker and the experts see it. A Slack call that fails
is logged and the rest goes on: the escalation itself is already safe in the database.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.experts import Who, who
from bot.slack import handoff_blocks
from bot.slack.blocks import Entry, Message
from bot.slack.ids import asked_privately, is_command_key, is_direct_message

if TYPE_CHECKING:
    from datetime import datetime

    from bot.slack.services import Handoff, Services
    from bot.storage import AskedQuestion, Escalation

log = logging.getLogger(__name__)

ALREADY_REACTED = frozenset({"already_reacted", "no_reaction"})
GROUP_MEMBERS_SECONDS = 60.0


@dataclass(frozen=True)
class Outcome:
    """What the asker's click did: ``escalation`` is None when it couldn't be handed on."""

    escalation: Escalation | None
    made: bool  # this click placed it (False: asked already)


def escalate(client: WebClient, faq: Services, *, team: str, channel: str,
             asked: AskedQuestion, asker: str, thread_ts: str | None) -> Outcome:
    """Hand ``asked`` (asked in ``channel``; its reply in ``thread_ts``) to its experts,
    once: the first click places it, later ones (or another process's) find it placed."""
    handoff = faq.handoff
    assert handoff is not None
    private = asked_privately(channel, asked.ts)
    experts = handoff.experts_for(channel, private=private)
    if experts is None:
        return Outcome(None, False)
    escalation, _ = handoff.store.escalate(
        team=team, channel=channel, question_key=asked.ts, asker=asker, question=asked.text,
        private=private, experts=experts.stored,
        thread_ts=None if private else thread_ts or asked.ts)
    if escalation.post_ts or not handoff.store.take_escalation_placement(escalation.id):
        return Outcome(escalation, False)  # placed, or being placed by another click
    try:
        placed = _place(client, handoff, escalation, experts)
    except BaseException:
        handoff.store.change_escalation(escalation.id, "release")  # the next click retries
        raise
    if not private or is_direct_message(channel):
        _react(client, channel, asked.ts, handoff.reaction, add=True)
    return Outcome(placed, True)


def _place(client: WebClient, handoff: Handoff, escalation: Escalation,
           experts: Who) -> Escalation:
    """Post the escalation where the experts answer, and its card; record both."""
    if not escalation.private:
        where, thread = escalation.channel, str(escalation.thread_ts)
        posted = client.chat_postMessage(channel=where, thread_ts=thread,
                                         **handoff_blocks.escalation_message(
                                             escalation, experts).as_kwargs())
        post_ts = str(posted["ts"])
    elif handoff.triage:
        where = handoff.triage
        posted = client.chat_postMessage(channel=where, **handoff_blocks.card_message(
            escalation, experts).as_kwargs())
        post_ts = thread = str(posted["ts"])
    else:
        opened = client.conversations_open(users=",".join(experts.users))
        where = str(opened["channel"]["id"])
        posted = client.chat_postMessage(channel=where, **handoff_blocks.escalation_message(
            escalation, experts).as_kwargs())
        post_ts = thread = str(posted["ts"])
    permalink = _permalink(client, where, post_ts)
    handoff.store.change_escalation(escalation.id, "placed", thread_channel=where,
                                    thread_ts=thread, post_ts=post_ts, permalink=permalink)
    placed = replace(escalation, thread_channel=where, thread_ts=thread, post_ts=post_ts,
                     permalink=permalink or None)
    if not handoff.triage:
        return placed
    if escalation.private:  # its post is its card
        card_ts = post_ts
    else:
        card = client.chat_postMessage(channel=handoff.triage, **handoff_blocks.card_message(
            placed, experts).as_kwargs())
        card_ts = str(card["ts"])
    handoff.store.change_escalation(escalation.id, "carded", card_ts=card_ts)
    return replace(placed, card_ts=card_ts)


def _permalink(client: WebClient, channel: str, ts: str) -> str:
    try:
        link = client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except SlackApiError as error:
        log.warning("no permalink for an escalation: %s", error.response.get("error"))
        return ""
    return link if isinstance(link, str) else ""


def _react(client: WebClient, channel: str, ts: str, name: str, *, add: bool) -> None:
    """Mark the question (never a /faq command's: it has no message)."""
    if is_command_key(ts):
        return
    try:
        if add:
            client.reactions_add(channel=channel, timestamp=ts, name=name)
        else:
            client.reactions_remove(channel=channel, timestamp=ts, name=name)
    except SlackApiError as error:
        if error.response.get("error") not in ALREADY_REACTED:
            log.warning("could not change the reaction on an escalated question: %s",
                        error.response.get("error"))


def redraw(client: WebClient, handoff: Handoff, escalation: Escalation) -> None:
    """Show ``escalation`` as it is now: its post, its card, and the question's reaction."""
    experts = who(escalation.experts)
    if escalation.card_ts:
        _update(client, handoff.triage, escalation.card_ts,
                handoff_blocks.card_message(escalation, experts))
    if escalation.post_ts and escalation.post_ts != escalation.card_ts:  # not one message
        _update(client, str(escalation.thread_channel), escalation.post_ts,
                handoff_blocks.escalation_message(escalation, experts))


def _update(client: WebClient, channel: str, ts: str, message: Message) -> None:
    try:
        client.chat_update(channel=channel, ts=ts, **message.as_kwargs())
    except SlackApiError as error:
        log.warning("could not update an escalation's message: %s",
                    error.response.get("error"))


def settle_reaction(client: WebClient, handoff: Handoff, escalation: Escalation) -> None:
    """🙋 while it waits for a person, ✅ once resolved, on the question itself."""
    if escalation.private and not is_direct_message(escalation.channel):
        return
    resolved = escalation.status == "resolved"
    channel, ts = escalation.channel, escalation.question_key
    _react(client, channel, ts, handoff.reaction, add=not resolved)
    _react(client, channel, ts, handoff_blocks.SOLVED_REACTION, add=resolved)


def is_expert(client: WebClient, escalation: Escalation, user: str) -> bool:
    """Whether ``user`` is one of the escalation's experts: named, or in its user group."""
    experts = who(escalation.experts)
    return experts.includes(user) or (bool(experts.group)
                                      and user in _members.of(client, experts.group))


def may_claim(client: WebClient, faq: Services, escalation: Escalation, user: str) -> bool:
    """Its experts, or an FAQ editor."""
    return user in faq.editors or is_expert(client, escalation, user)


def may_resolve(client: WebClient, faq: Services, escalation: Escalation, user: str) -> bool:
    """The asker, its experts, or an FAQ editor: not whoever merely replied or claimed."""
    return user == escalation.asker or may_claim(client, faq, escalation, user)


class _GroupMembers:
    """User groups' members (``usergroups.users.list``), kept a minute: a click asks at most
    once a minute per group. A group Slack won't list has no members, so only editors act."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def of(self, client: WebClient, group: str) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            known = self._known.get(group)
        if known is not None and known[0] > now:
            return known[1]
        try:
            users = client.usergroups_users_list(usergroup=group).get("users") or []
        except SlackApiError as error:
            log.warning("could not read the members of an expert user group: %s",
                        error.response.get("error"))
            users = []
        members = frozenset(u for u in users if isinstance(u, str))
        with self._lock:
            self._known[group] = (now + GROUP_MEMBERS_SECONDS, members)
        return members


_members = _GroupMembers()


def record_reply(client: WebClient, faq: Services, escalation: Escalation, *, user: str,
                 text: str) -> None:
    """A person's message in ``escalation``'s thread: the first one from anyone but the
    asker is its answer (they are offered to save it as an FAQ); in a private escalation,
    each reaches the asker by direct message, since the asker can't see that thread."""
    handoff = faq.handoff
    assert handoff is not None
    if user == escalation.asker:
        return
    channel, thread_ts = str(escalation.thread_channel), str(escalation.thread_ts)
    first = handoff.store.change_escalation(escalation.id, "answered", user=user, text=text)
    if escalation.private:
        relayed = handoff_blocks.relayed_message(escalation, user, text)
        try:
            client.chat_postMessage(channel=escalation.asker, **relayed.as_kwargs())
        except SlackApiError as error:
            log.warning("could not pass an expert's reply on to the asker: %s",
                        error.response.get("error"))
    if not first:
        return
    answered = handoff.store.escalation(escalation.id) or escalation
    redraw(client, handoff, answered)
    existing = _existing_faqs(faq, answered)
    offer = handoff_blocks.save_offer_message(answered, existing)
    try:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts,
                                  **offer.as_kwargs())
    except SlackApiError as error:
        log.warning("could not offer to save an expert's reply: %s",
                    error.response.get("error"))


def _existing_faqs(faq: Services, escalation: Escalation) -> list[Entry]:
    """The FAQs closest to the escalated question, for "Add to: …" (none without its text,
    or while the embedder is down)."""
    if not escalation.question:
        return []
    try:
        answer = faq.answerer.ask(escalation.question)
    except UserError:
        return []
    return list((answer.shown or answer.near or answer.candidates)[:3])


def remind_due(client: WebClient, handoff: Handoff, now: datetime) -> int:
    """One reminder for each escalation with no human reply after ESCALATION_REMIND_MINUTES,
    whichever process gets there first; returns how many this process sent."""
    sent = 0
    for escalation in handoff.store.escalations_due(
            now - timedelta(minutes=handoff.remind_minutes)):
        if not handoff.store.change_escalation(escalation.id, "reminded"):
            continue  # another process reminded
        message = handoff_blocks.reminder_message(escalation, who(escalation.experts),
                                                  handoff.remind_minutes)
        channel, thread = ((handoff.triage, escalation.card_ts) if handoff.triage
                           else (escalation.thread_channel, escalation.thread_ts))
        try:
            client.chat_postMessage(channel=str(channel), thread_ts=thread,
                                    **message.as_kwargs())
            sent += 1
        except SlackApiError as error:
            log.warning("could not remind about an escalation (it is owed again): %s",
                        error.response.get("error"))
            handoff.store.change_escalation(escalation.id, "unremind")
    return sent


def who_can_save(faq: Services) -> str:
    """Names the FAQ editors, for someone who may not save."""
    editors = " ".join(f"<@{e}>" for e in sorted(faq.editors)[:10])
    return (f"Only FAQ editors can save FAQs: ask {editors}." if editors else
            "Saving FAQs from Slack is off here (FAQ_EDITORS is empty).")

