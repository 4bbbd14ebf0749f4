"""The FAQ modal: pure builders for the views it opens, and readers for what Slack sends back.

Ids are contracts (docs: "Slack surfaces"): the modal is ``faq_edit``, its input blocks are
``question``, ``answer``, ``url`` and ``alternates``, each a ``plain_text_input`` whose
action id is ``value``. Everything read back is checked: a submission is hostile text until
it has Slack's shapes, and a ``private_metadata`` that doesn't parse is refused, not guessed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.faq.drafts import FIELDS
from bot.faq.revisions import AUTO_EDITOR, EditChanged, Seen, seen
from bot.slack.blocks import Block, escape
from bot.slack.ids import ESCALATION, TEAM_OR_CHANNEL, TS, USER, shaped

if TYPE_CHECKING:
    from bot.faq.sources import FaqRow

SAVE_SHORTCUT = "faq_save"
EDIT_CALLBACK = "faq_edit"
VALUE = "value"

INPUT_LIMIT = 3000  # Block Kit's cap on a plain_text_input's max_length (and initial value)
METADATA_LIMIT = 3000  # Block Kit's cap on private_metadata
ERROR_LIMIT = 300  # a modal error is a line under the field, not a page
SECTION_LIMIT = 3000  # Block Kit's cap on a section's text
QUOTE_LIMIT = 200  # of a question quoted in a notice

NOT_AN_EDITOR = ("Only FAQ editors can save FAQs. Ask whoever runs faqbot to add your member "
                 "id to FAQ_EDITORS.")
DAMAGED = "This form can't be saved: its details were changed. Close it and start again."
TOO_LONG = (f"This text is longer than a Slack form holds, so only its first {INPUT_LIMIT} "
            "characters are shown here, and saving keeps only those. To keep all of it, edit "
            "the FAQ with `faqbot faq edit` instead.")

# Slack itself marks the optional ones "(optional)".
_LABELS = {"question": "Question", "answer": "Answer", "url": "Link",
           "alternates": "Other ways to ask it"}
_HINTS = {"question": "How people ask it; the bot matches questions to this.",
          "url": "A full https:// address to read more.",
          "alternates": "One per line."}


_KEYS = ("channel", "thread_ts", "faq_id", "seen", "escalation")


@dataclass(frozen=True)
class Where:
    """What the modal carries in ``private_metadata``: the thread to post in once saved
    (none when opened outside a thread), the FAQ being edited (none for a new one), and what
    the form showed of it (``Seen``, encoded), so a save can tell what changed since."""

    channel: str | None = None
    thread_ts: str | None = None
    faq_id: str | None = None
    seen: str | None = None
    escalation: str | None = None  # the question handed to a person this form answers

    def encode(self) -> str:
        """Only what is set, so an empty ``Where`` is the empty string Slack allows. Too many
        alternates to hash one by one within Slack's cap: their list is hashed as one."""
        kept = {k: v for k, v in zip(_KEYS, (self.channel, self.thread_ts, self.faq_id,
                                             self.seen, self.escalation), strict=True) if v}
        encoded = json.dumps(kept, separators=(",", ":")) if kept else ""
        shown = Seen.decode(self.seen)
        if len(encoded) > METADATA_LIMIT and shown is not None:
            kept["seen"] = shown.encode(with_phrasings=False)
            encoded = json.dumps(kept, separators=(",", ":"))
        return encoded


def editing(entry: FaqRow, *, channel: str | None = None,
            thread_ts: str | None = None) -> Where:
    """The ``Where`` of a form opened on ``entry`` as it is now."""
    return Where(channel=channel, thread_ts=thread_ts, faq_id=entry.id,
                 seen=seen(entry).encode())


def read_where(metadata: object) -> Where | None:
    """The ``Where`` a submission carries; None when it isn't one this app wrote: not JSON,
    a channel or ts not shaped like Slack's, a channel without a thread, an id not text."""
    if metadata is None or metadata == "":
        return Where()
    if not isinstance(metadata, str) or len(metadata) > METADATA_LIMIT:
        return None
    try:
        found = json.loads(metadata)
    except ValueError:
        return None
    if not isinstance(found, dict) or set(found) - set(_KEYS):
        return None
    channel, thread_ts, faq_id, shown, escalation = (found.get(k) for k in _KEYS)
    if (channel is None) != (thread_ts is None):
        return None
    if channel is not None and not (shaped(channel, TEAM_OR_CHANNEL) and shaped(thread_ts, TS)):
        return None
    if faq_id is not None and not (isinstance(faq_id, str) and faq_id.strip()):
        return None
    if shown is not None and (faq_id is None or Seen.decode(shown) is None):
        return None
    if escalation is not None and not shaped(escalation, ESCALATION):
        return None
    return Where(channel=channel, thread_ts=thread_ts, faq_id=faq_id, seen=shown,
                 escalation=escalation)


@dataclass(frozen=True)
class Draft:
    """What the modal's fields hold: typed text, before ``bot.faq.drafts`` makes it a row."""

    question: str = ""
    answer: str = ""
    url: str = ""
    alternates: str = ""


def draft_of(row: FaqRow) -> Draft:
    """An FAQ as it is now, to edit: its alternates one per line."""
    return Draft(question=row.question, answer=row.answer, url=row.url,
                 alternates="\n".join(row.alternates))


def _input(field: str, initial: str, *, multiline: bool = False,
           optional: bool = False) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": VALUE,
                      "multiline": multiline, "max_length": INPUT_LIMIT}
    if initial:
        element["initial_value"] = initial[:INPUT_LIMIT]
    block: Block = {"type": "input", "block_id": field, "optional": optional,
                    "label": {"type": "plain_text", "text": _LABELS[field]}, "element": element}
    if field in _HINTS:
        block["hint"] = {"type": "plain_text", "text": _HINTS[field]}
    return block


def _plain(text: str) -> Block:
    return {"type": "plain_text", "text": text, "emoji": True}


def _note(text: str) -> Block:
    """Plain text, so nothing typed into the form can format or mention anything here."""
    return {"type": "section", "text": _plain(text[:SECTION_LIMIT])}


def edit_modal(draft: Draft, where: Where, *, problem: str = "",
               above: tuple[Block, ...] = (), below: tuple[Block, ...] = ()) -> Block:
    """The ``faq_edit`` modal, prefilled with ``draft``; a field too long to prefill in full
    says so, since saving would cut it. ``problem``: why the last save failed, on top; then
    ``above`` the fields and ``below`` them."""
    blocks = [
        *([_note(f"⚠️ Not saved: {problem}")] if problem else []),
        *above,
        _input("question", draft.question),
        _input("answer", draft.answer, multiline=True),
        _input("url", draft.url, optional=True),
        _input("alternates", draft.alternates, multiline=True, optional=True),
    ]
    if any(len(text) > INPUT_LIMIT for text in (draft.question, draft.answer, draft.url,
                                                  draft.alternates)):
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": TOO_LONG}]})
    blocks.extend(below)
    return {"type": "modal", "callback_id": EDIT_CALLBACK,
            "title": _plain("Edit FAQ" if where.faq_id else "Save as an FAQ"),
            "submit": _plain("Save"), "close": _plain("Cancel"),
            "private_metadata": where.encode(), "blocks": blocks}


def saving_modal(question: str) -> Block:
    """Shown while a save outlasts Slack's 3 s for answering the submission; replaced by
    ``saved_modal`` or by the form again, with what went wrong."""
    return {"type": "modal", "title": _plain("Saving…"), "close": _plain("Close"),
            "blocks": [_note(f"Saving “{question[:QUOTE_LIMIT]}”. The embedding service is "
                             "slow right now; this form will say when it is done.")]}


def saved_modal(question: str) -> Block:
    return {"type": "modal", "title": _plain("Saved"), "close": _plain("Done"),
            "blocks": [_note(f"Saved as an FAQ: “{question[:QUOTE_LIMIT]}”. It answers in "
                             "every channel within a few seconds.")]}


def refusal_modal(*, editing_on: bool) -> Block:
    """For someone who may not save FAQs: why, and who can change that."""
    if editing_on:
        text = (f"*Only FAQ editors can save FAQs.*\n{NOT_AN_EDITOR} Your member id is in your "
                "Slack profile, under ⋮ → Copy member ID.")
    else:
        text = ("*Saving FAQs from Slack is off in this workspace.*\nTo turn it on, whoever "
                "runs faqbot sets FAQ_EDITORS to a comma-separated list of the editors' member "
                "ids (e.g. `U012ABCDEF,U034GHIJKL`) and restarts it. Until then, FAQs are added "
                "with `faqbot faq add`.")
    return {"type": "modal", "title": _plain("Save as an FAQ"), "close": _plain("OK"),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def read_draft(view: Mapping[str, Any]) -> Draft:
    """The submitted fields; a field missing, or not text, counts as empty."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    values = values if isinstance(values, Mapping) else {}

    def field(name: str) -> str:
        block = values.get(name)
        element = block.get(VALUE) if isinstance(block, Mapping) else None
        text = element.get("value") if isinstance(element, Mapping) else None
        return text if isinstance(text, str) else ""

    return Draft(**{name: field(name) for name in FIELDS})


def errors(problems: Mapping[str, str]) -> dict[str, str]:
    """``response_action: errors`` by block id; a problem with no field of its own goes
    under the question."""
    found: dict[str, str] = {}
    for name, problem in problems.items():
        block = name if name in FIELDS else "question"
        found.setdefault(block, problem[:ERROR_LIMIT])
    return found


def changed_modal(draft: Draft, where: Where, changed: EditChanged) -> Block:
    """The form again after a save refused because the FAQ changed since it was opened: who
    changed it and when on top, ``draft`` (what they typed, with the other side's changes to
    other fields merged in) in the fields, and the FAQ as it is now below, to compare."""
    both = ", ".join(changed.fields)
    kept = (f"You both changed the {both}: the fields hold yours." if both else
            "The fields hold your text, with their changes to other fields added.")
    notice = (f"⚠️ *Not saved:* {_who(changed.by.editor)} changed this FAQ "
              f"{_when(changed.by.at)} since you opened it. {kept} Their version is below. "
              "Save again to keep what the fields hold.")
    now = changed.current
    shown = "\n".join(["Saved now:", f"Question: {now.question}", f"Answer: {now.answer}",
                       *([f"Link: {now.url}"] if now.url else []),
                       *(["Other ways to ask it:", *now.alternates] if now.alternates else [])])
    return edit_modal(draft, where, above=(
        {"type": "section", "text": {"type": "mrkdwn", "text": notice[:SECTION_LIMIT]}},),
        below=({"type": "divider"}, _note(shown)))


def _who(editor: str) -> str:
    """A Slack editor as a mention; learning, the CLI or the dataset as words (escaped)."""
    if shaped(editor, USER):
        return f"<@{editor}>"
    if editor == AUTO_EDITOR:
        return "learning from use"
    if not editor:
        return "a new version of the dataset"
    return escape(editor[:QUOTE_LIMIT])


def _when(at: datetime | None) -> str:
    """Slack's date token, shown in the reader's own time zone."""
    if at is None:
        return "recently"
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    fallback = f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"
