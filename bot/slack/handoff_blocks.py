"""Pure Block Kit builders for asking a person: the escalation in its thread, its card in
the triage channel, the reminder, and the offer to save an expert's reply as an FAQ.

Everything the asker typed is escaped and capped; only ids checked against Slack's shapes
go inside ``<@…>``, ``<#…>`` or ``<!subteam^…>``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.experts import Who
from bot.slack.blocks import (
    FALLBACK_LIMIT,
    Block,
    Entry,
    Message,
    button,
    cap,
    context,
    escape,
    section,
)
from bot.slack.ids import is_command_key, is_direct_message

if TYPE_CHECKING:
    from bot.storage import Escalation

CLAIM = "faq_claim"
RESOLVE = "faq_resolve"
REOPEN = "faq_reopen"
SAVE_REPLY = "faq_save_reply"  # value: the escalation id
SAVE_REPLY_TO = "faq_save_reply_to"  # value: "<escalation id>:<faq id>"
QUOTE_LIMIT = 1500  # of a question quoted in a post or card
SOLVED_REACTION = "white_check_mark"


def escaped(text: str, limit: int) -> str:
    """``text`` escaped, then capped at ``limit`` characters without cutting an entity in
    two: capping first would let escaping grow it up to four times past its cap."""
    out = escape(text)
    if len(out) <= limit:
        return out
    cut = out[:limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + "…"


def _quote(text: str | None) -> str:
    if not text:
        return "_(the question's text is not kept: LOG_QUESTION_TEXT=false)_"
    return "\n".join(f"> {line}" for line in escaped(text, QUOTE_LIMIT).splitlines())


def _when(at: datetime) -> str:
    """Slack's date token: "5 minutes ago" in each reader's own terms."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return f"<!date^{int(at.timestamp())}^{{ago}}|{at:%Y-%m-%d %H:%M} UTC>"


def status_line(escalation: Escalation) -> str:
    if escalation.status == "resolved":
        return f"✅ Resolved by <@{escalation.resolved_by}>"
    parts = [f"🙋 Claimed by <@{escalation.claimed_by}>" if escalation.claimed_by
             else "🙋 Waiting for a person"]
    if escalation.answered_by:
        parts.append(f"answered by <@{escalation.answered_by}>")
    return ", ".join(parts)


def _buttons(escalation: Escalation, *, reopen: bool) -> list[Block]:
    value = str(escalation.id)
    if escalation.status == "resolved":
        return [{"type": "actions", "elements": [button("Reopen", REOPEN, value)]}] if reopen \
            else []
    elements = [button("Resolved", RESOLVE, value, style="primary")]
    if escalation.status == "open":
        elements.insert(0, button("I'll take it", CLAIM, value))
    return [{"type": "actions", "elements": elements}]


def _where_asked(escalation: Escalation) -> str:
    if is_command_key(escalation.question_key):
        return "privately with /faq"
    if is_direct_message(escalation.channel):
        return "in a direct message to me"
    return f"in <#{escalation.channel}>"


def escalation_message(escalation: Escalation, who: Who) -> Message:
    """Posted where the experts answer: in the question's thread, or (asked privately) in
    the triage channel or a direct message to the experts, with the question quoted."""
    asker = f"<@{escalation.asker}>"
    if escalation.private:
        head = (f"{who.mention}: {asker} asked {_where_asked(escalation)} and would like a "
                f"person to answer. Please reply in this thread: {asker} gets your replies by "
                f"direct message.\n{_quote(escalation.question)}")
    else:
        head = (f"{asker} would like a person to answer this question. {who.mention}, can "
                "you help? Reply in this thread.")
    blocks = [section(head), context(status_line(escalation)),
              *_buttons(escalation, reopen=False)]
    return Message(text=cap(f"{asker} would like a person to answer their question.",
                            FALLBACK_LIMIT), blocks=blocks)


def card_message(escalation: Escalation, who: Who) -> Message:
    """The escalation's card in the triage channel, redrawn in place at every change."""
    link = (f" · <{escape(escalation.permalink)}|open the thread>"
            if escalation.permalink and escalation.permalink.startswith("https://") else "")
    lines = [f"*Question for {who.mention}* · asked {_when(escalation.at)} by "
             f"<@{escalation.asker}> {_where_asked(escalation)}{link}",
             _quote(escalation.question)]
    blocks = [section("\n".join(lines)), context(status_line(escalation)),
              *_buttons(escalation, reopen=True)]
    return Message(text=cap(f"Question for a person from <@{escalation.asker}>",
                            FALLBACK_LIMIT), blocks=blocks)


def reminder_message(escalation: Escalation, who: Who, minutes: float) -> Message:
    link = (f" <{escape(escalation.permalink)}|Open the thread.>"
            if escalation.permalink and escalation.permalink.startswith("https://") else "")
    waited = f"{round(minutes)} minutes" if minutes >= 1 else f"{round(minutes * 60)} seconds"
    text = (f"⏰ {who.mention}: <@{escalation.asker}>'s question has waited {waited} for a "
            f"person.{link}")
    return Message(text=cap(f"A question has waited {waited} for a person", FALLBACK_LIMIT),
                   blocks=[section(text)])


def relayed_message(escalation: Escalation, replier: str, text: str) -> Message:
    """An expert's reply in a private escalation's thread, sent to the asker."""
    asked = f"\n\nYou asked:\n{_quote(escalation.question)}" if escalation.question else ""
    body = f"<@{replier}> answered your question:\n{escaped(text, QUOTE_LIMIT)}{asked}"
    return Message(text=cap(f"<@{replier}> answered your question", FALLBACK_LIMIT),
                   blocks=[section(body)])


def save_offer_message(escalation: Escalation, existing: list[Entry]) -> Message:
    """Shown only to whoever answered: turn the answer into an FAQ, or the question into
    another way to ask an FAQ that exists."""
    value = str(escalation.id)
    elements = [button("📖 Save as FAQ", SAVE_REPLY, value, style="primary")]
    elements += [button(f"Add to: {entry.question}", SAVE_REPLY_TO, f"{value}:{entry.id}")
                 for entry in existing]
    text = ("Thanks for answering! Save your answer as an FAQ so I can answer this next "
            "time, or add the question to an FAQ that already answers it.")
    return Message(text=text, blocks=[section(text),
                                      {"type": "actions", "elements": elements}])
