"""Pure Block Kit builders: data in, ``Message`` out. No Slack calls, no FAQ logic.

Buttons carry the FAQ ``id`` (stable across dataset rebuilds) so a click can be answered
from the loaded dataset instead of from whatever the original message said.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.faq.policy import Answer, Decision

CHOICE_ACTION_PREFIX = "faq_choice_"
VOTE_UP = "faq_vote_up"
VOTE_DOWN = "faq_vote_down"
SHARE = "faq_share"
EDIT = "faq_edit_open"  # the Edit button under "Saved as an FAQ"
ESCALATE = "faq_escalate"  # Ask a person
ESCALATE_VALUE = "ask"
VOTE_NOTE_BLOCK = "faq_vote_note"
# In a private /faq reply, each actions block's id is "asked:<key>:<tag>.<n>": an ephemeral
# message has no ts to lead a click back to its question, so the block carries the key. The
# tag is new on every drawing, since Slack wants new block ids when a message is updated.
ASKED_BLOCK_PREFIX = "asked:"

SECTION_LIMIT = 3000  # Block Kit's cap on a section's text
BUTTON_LABEL_LIMIT = 75  # Block Kit's cap on a button's text
FALLBACK_LIMIT = 300  # notification text; the blocks carry the full answer
MIN_LABEL = 40  # a link's label gets at least this much room, or the link is left out

UNAVAILABLE = (
    "I can't reach the embedding service right now, please try again in a minute."
)

Block = dict[str, Any]


class Entry(Protocol):
    """What a reply needs from an FAQ: ``Hit`` and ``FaqRow`` both fit."""

    id: str
    question: str
    answer: str
    url: str


@dataclass(frozen=True)
class Message:
    """Fallback text (for notifications and screen readers) plus the blocks."""

    text: str
    blocks: list[Block]

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def keyed(blocks: Sequence[Block], key: str) -> list[Block]:
    """``blocks`` with every actions block's id naming ``key`` (see ``ASKED_BLOCK_PREFIX``);
    numbered, since block ids are unique within a message."""
    tag, numbers = secrets.token_hex(3), itertools.count()
    return [{**block, "block_id": f"{ASKED_BLOCK_PREFIX}{key}:{tag}.{next(numbers)}"}
            if block.get("type") == "actions" else block for block in blocks]


def escape(text: str) -> str:
    """Slack mrkdwn needs &, < and > escaped; everything else is literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Raw, "<question>" is Slack markup (a link to "question"), not text.
FAQ_USAGE = escape("/faq <question>")


def cap(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def section(text: str) -> Block:
    """A mrkdwn section, capped at Block Kit's limit so a long text can't break the message."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": cap(text, SECTION_LIMIT)}}


def context(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "context",
                    "elements": [{"type": "mrkdwn", "text": cap(text, SECTION_LIMIT)}]}
    if block_id:
        block["block_id"] = block_id
    return block


def button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": cap(label, BUTTON_LABEL_LIMIT), "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def _capped_escape(text: str, limit: int) -> str:
    """``escape(text)`` cut to ``limit`` like ``cap``, never inside an ``&amp;``."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    if cut.rfind("&") > cut.rfind(";"):  # an entity was cut in half: drop what is left of it
        cut = cut[: cut.rfind("&")]
    return cut.rstrip() + "…"


def _link(entry: Entry, limit: int) -> str:
    """``<url|label>`` in at most ``limit`` characters: both escaped, and a ``|`` in the url
    encoded, so neither can end the link or add markup, whatever the dataset holds. The parts
    are capped before the markup is built, so a cap never leaves the link open: the label is
    shortened, and a url too long to leave room for a label is left out rather than cut."""
    url = escape(entry.url).replace("|", "%7C")
    room = limit - len(url) - 3  # "<", "|", ">"
    if not url or room < MIN_LABEL:
        return _capped_escape(entry.question, limit).replace("|", "¦")
    return f"<{url}|{_capped_escape(entry.question, room).replace('|', '¦')}>"


def _starred_link(prefix: str, entry: Entry) -> str:
    """``prefix`` then the bold link, within a section's limit."""
    return f"{prefix}*{_link(entry, SECTION_LIMIT - len(prefix) - 2)}*"


def answer_message(entry: Entry, *, shareable: bool = False, note: str = "") -> Message:
    """One FAQ answer: the answer, the matched question with its link, and 👍/👎 buttons.

    ``shareable`` adds "Share in channel" (for ephemeral /faq replies); ``note`` is a context
    line under the buttons, e.g. who shared the answer.
    """
    buttons = [
        button("👍 Helpful", VOTE_UP, entry.id),
        button("👎 Not helpful", VOTE_DOWN, entry.id),
    ]
    if shareable:
        buttons.append(button("Share in channel", SHARE, entry.id, style="primary"))
    blocks = [
        section(escape(entry.answer)),
        context(_starred_link("From the FAQ: ", entry)),
        {"type": "actions", "elements": buttons},
    ]
    if note:
        blocks.append(context(note))
    text = cap(escape(f"{entry.question} {entry.answer}"), FALLBACK_LIMIT)
    return Message(text=text, blocks=blocks)


def _choice_buttons(entries: Sequence[Entry]) -> Block:
    return {"type": "actions", "elements": [
        button(entry.question, f"{CHOICE_ACTION_PREFIX}{n}", entry.id)
        for n, entry in enumerate(entries)]}


def ask_person_button(label: str = "🙋 Ask a person") -> Block:
    return {"type": "actions", "elements": [button(label, ESCALATE, ESCALATE_VALUE)]}


def choices_message(entries: Sequence[Entry], *, ask_person: bool = False) -> Message:
    """Close runners-up: one button per FAQ question; a click reveals that answer.
    ``ask_person``: and "None of these", which hands the question to a person."""
    blocks = [
        section("A few FAQs come close. Which one do you mean?"),
        _choice_buttons(entries),
        *([ask_person_button("None of these: ask a person")] if ask_person else []),
    ]
    text = "Did you mean: " + " / ".join(escape(entry.question) for entry in entries)
    return Message(text=cap(text, FALLBACK_LIMIT), blocks=blocks)


def maybe_message(entries: Sequence[Entry], *, ask_person: bool = False) -> Message:
    """A miss with FAQs still near it: offer them, and a person."""
    blocks = [
        section("I'm not sure an FAQ answers that. Maybe one of these?"),
        _choice_buttons(entries),
        *([ask_person_button("None of these: ask a person")] if ask_person else []),
    ]
    text = "Maybe one of these: " + " / ".join(escape(entry.question) for entry in entries)
    return Message(text=cap(text, FALLBACK_LIMIT), blocks=blocks)


def nothing_found_message(*, via_command: bool = False, ask_person: bool = False) -> Message:
    """Asked directly but nothing matched: say so, and point to /faq, or to a person."""
    if ask_person:
        text = "I couldn't find an FAQ that answers that. A person can help."
        return Message(text=text, blocks=[section(text), ask_person_button()])
    hint = ("Try rephrasing it, or type `/faq help` for examples." if via_command
            else f"Try rephrasing it, or ask privately with `{FAQ_USAGE}`.")
    text = f"I couldn't find an FAQ that answers that. {hint}"
    return Message(text=text, blocks=[section(text)])


def unavailable_message() -> Message:
    return Message(text=UNAVAILABLE, blocks=[section(UNAVAILABLE)])


def help_message(examples: Iterable[str]) -> Message:
    """Usage for ``/faq`` and ``/faq help``, with example questions from the dataset."""
    tries = "\n".join(f"• `/faq {escape(example)}`" for example in examples)
    body = (
        "*Ask the FAQ*\n"
        f"`{FAQ_USAGE}` answers privately; you can then share the answer in the channel.\n"
        "Mention me in a channel, or send me a direct message, to get an answer everyone "
        "in the conversation can see."
    )
    blocks = [section(body)]
    if tries:
        blocks.append(section(f"*Try:*\n{tries}"))
    return Message(text=f"Ask the FAQ with {FAQ_USAGE}", blocks=blocks)


def saved_message(entry: Entry, editor: str) -> Message:
    """Said in the thread an FAQ was saved from: which question, by whom, and an Edit button
    (its value the FAQ id, so the modal opens on the FAQ as it is then, not as posted)."""
    text = cap(f"Saved as an FAQ: {escape(entry.question)}", FALLBACK_LIMIT)
    blocks = [
        section(_starred_link("Saved as an FAQ: ", entry)),
        context(f"By <@{editor}>. It answers in every channel within a few seconds."),
        {"type": "actions", "elements": [button("Edit", EDIT, entry.id)]},
    ]
    return Message(text=text, blocks=blocks)


def vote_note(user_id: str, helpful: bool) -> str:
    verdict = "helpful 👍" if helpful else "not helpful 👎"
    return f"<@{user_id}> found this {verdict}. Thanks, your vote was counted."


def with_other_choices(blocks: Sequence[Block], entries: Sequence[Entry], *,
                       ask_person: bool = False) -> list[Block]:
    """The answer its asker found not helpful, followed by the next closest FAQs to pick
    from, and (``ask_person``) a person to ask."""
    found = [*blocks]
    if entries:
        found += [section("Was it one of these?"), _choice_buttons(entries)]
    if ask_person:
        found.append(ask_person_button())
    return found


def with_vote_note(blocks: Sequence[Block], note: str) -> list[Block]:
    """The same message with its vote note replaced (or added): buttons stay for others."""
    kept = [dict(block) for block in blocks if block.get("block_id") != VOTE_NOTE_BLOCK]
    return [*kept, context(note, VOTE_NOTE_BLOCK)]


def for_answer(answer: Answer, *, asked_directly: bool, via_command: bool = False,
               ask_person: bool = False) -> Message | None:
    """The reply to an ``Answer``; None means stay silent (an un-asked channel message).
    ``ask_person``: a miss or choices may hand the question to a person."""
    if answer.decision == Decision.ANSWER:
        return answer_message(answer.shown[0], shareable=via_command)
    if answer.decision == Decision.CHOICES:
        return choices_message(answer.shown, ask_person=ask_person)
    if not (asked_directly or via_command):
        return None
    if answer.near:
        return maybe_message(answer.near, ask_person=ask_person)
    return nothing_found_message(via_command=via_command, ask_person=ask_person)
