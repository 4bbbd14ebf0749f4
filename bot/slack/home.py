"""The App Home: a pure builder of the ``home`` view ``views.publish`` shows.

Everyone sees how to ask, a few example questions and how many FAQs there are. FAQ editors
also see what the log says needs them (``HomeFacts``): the questions handed to a person and
not resolved (age, who claimed them, a link to the thread), the people's answers not yet an
FAQ with **Save as FAQ**, the unanswered questions with an **Add FAQ** button, learned
phrasings to **Accept** or **Reject**, the FAQs voted 👎 most with **Edit**, and the last
14 days as bars. Nobody else's view holds anyone's question.

A view holds at most 100 blocks and 3000 characters per text: each list shows ``LISTED``
items and says how many more there are, and every text from the log is escaped and capped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from bot.slack.blocks import EDIT, FAQ_USAGE, Block, button, cap, context, escape, section
from bot.slack.handoff_blocks import SAVE_REPLY
from bot.slack.ids import USER, shaped

if TYPE_CHECKING:
    from bot.slack.services import DayCount, HomeFacts, UnsavedReply, WaitingEscalation

ADD = "faq_home_add"  # value: the question to prefill
ACCEPT = "faq_home_accept"  # value: the suggestion id
REJECT = "faq_home_reject"
# Edit is the FAQ message's own button (``blocks.EDIT``, value: the FAQ id), and Save as
# FAQ the escalation's (``handoff_blocks.SAVE_REPLY``, value: the escalation id).

MAX_BLOCKS = 100  # Block Kit's cap on a view
LISTED = 5
SHOWN_TEXT = 300  # one question in a list: enough to recognise it
VALUE_LIMIT = 2000  # Block Kit's cap on a button's value
BARS = "▁▂▃▄▅▆▇█"
NO_DAY = "·"  # a day without questions


def home_view(*, faqs: int, examples: Iterable[str], faq_channels: Iterable[str],
              bot_user_id: str, facts: HomeFacts | None = None, notice: str = "") -> Block:
    """The ``home`` view; ``facts`` only for an FAQ editor, ``notice`` a line on top (what
    became of their last click)."""
    blocks: list[Block] = [context(escape(notice))] if notice else []
    blocks += _for_everyone(faqs, list(examples), sorted(faq_channels), bot_user_id)
    if facts is not None:
        blocks += _for_editors(facts)
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _shown(text: str) -> str:
    """Logged text as mrkdwn: escaped (so ``<!channel>`` stays text) and capped."""
    return escape(cap(" ".join(text.split()), SHOWN_TEXT))


def _for_everyone(faqs: int, examples: Sequence[str], channels: Sequence[str],
                  bot_user_id: str) -> list[Block]:
    where = (f"In {', '.join(f'<#{c}>' for c in channels)}" if channels
             else "In any channel I'm in")
    ways = (f"• {where}: just ask. I answer in a thread when the FAQ has the answer.\n"
            f"• Anywhere I'm in: mention <@{bot_user_id}> with your question.\n"
            "• Here: send me a direct message (the Messages tab).\n"
            f"• Privately, anywhere: `{FAQ_USAGE}`; only you see the answer.")
    blocks = [_header("Ask the FAQ"), section(f"*How to ask*\n{ways}")]
    if examples:
        blocks.append(section("*Try asking*\n" + "\n".join(f"• {_shown(e)}" for e in examples)))
    blocks.append(context(f"The FAQ has {faqs} {'entry' if faqs == 1 else 'entries'}."))
    return blocks


def _more(shown: int, total: int, what: str) -> list[Block]:
    return [context(f"and {total - shown} more {what}".rstrip())] if total > shown else []


def _for_editors(facts: HomeFacts) -> list[Block]:
    blocks: list[Block] = [{"type": "divider"}, _header("For FAQ editors")]
    if not facts.log_readable:
        blocks.append(section("The question log can't be read right now (the database is "
                              "down), so there is nothing from it to show. Open this tab again "
                              "in a minute."))
    else:
        blocks += _open_escalations(facts)
        blocks += _unsaved_replies(facts)
        blocks += _unanswered(facts)
    blocks += _suggestions(facts)
    if facts.log_readable:
        blocks += _disliked(facts)
        blocks += _days(facts.days)
    return blocks


def _person(user: str | None) -> str:
    """A mention, for a user id in Slack's shape only: anything else could be markup."""
    return f"<@{user}>" if shaped(user, USER) else "someone"


def _age(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h" if minutes < 48 * 60 else f"{minutes // (24 * 60)} d"


def _thread(permalink: str | None) -> str:
    """A link to the escalation's thread: only an https URL, escaped, ``|`` encoded, so it
    can neither end the link nor add markup; nothing before the escalation was posted."""
    if not permalink or not permalink.startswith("https://"):
        return ""
    return f" · <{escape(permalink).replace('|', '%7C')}|open the thread>"


def _question(question: str | None) -> str:
    return (_shown(question) if question is not None
            else "(the text was not logged: LOG_QUESTION_TEXT=false)")


def _open_escalations(facts: HomeFacts) -> list[Block]:
    """Shown only when there are some: without FAQ_EXPERTS nothing is ever escalated."""
    if not facts.open_escalations:
        return []
    count = facts.open_escalation_count
    blocks = [section(f"*Asked a person, not resolved*: {count} "
                      f"question{'s' * (count != 1)}, the longest waiting first:")]
    for waiting in facts.open_escalations[:LISTED]:
        blocks.append(section(f"{_question(waiting.question)}\n{_status(waiting)}"))
    return blocks + _more(min(len(facts.open_escalations), LISTED), count, "")


def _status(waiting: WaitingEscalation) -> str:
    claimed = (f"claimed by {_person(waiting.claimed_by)}" if waiting.claimed_by
               else "*not claimed*")
    answered = f" · answered by {_person(waiting.answered_by)}" if waiting.answered_by else ""
    return (f"asked by {_person(waiting.asker)} {_age(waiting.minutes)} ago · {claimed}"
            f"{answered}{_thread(waiting.permalink)}")


def _unsaved_replies(facts: HomeFacts) -> list[Block]:
    if not facts.unsaved_replies:
        return []
    count = facts.unsaved_reply_count
    blocks = [section(f"*Answered by a person, not yet an FAQ*: {count} "
                      f"answer{'s' * (count != 1)}, the latest first:")]
    for reply in facts.unsaved_replies[:LISTED]:
        block = section(f"{_question(reply.question)}\n{_answered(reply)}")
        block["accessory"] = button("Save as FAQ", SAVE_REPLY, str(reply.id),
                                    style="primary")
        blocks.append(block)
    return blocks + _more(min(len(facts.unsaved_replies), LISTED), count, "")


def _answered(reply: UnsavedReply) -> str:
    said = f": “{_shown(reply.answer)}”" if reply.answer else ""
    return (f"{_person(reply.answered_by)} answered {_age(reply.minutes)} ago"
            f"{_thread(reply.permalink)}{said}")


def _unanswered(facts: HomeFacts) -> list[Block]:
    title = (f"*Unanswered in the last 30 days*: {facts.unanswered_questions} "
             f"question{'s' * (facts.unanswered_questions != 1)}")
    if not facts.grouped:
        return [section(f"{title}, not grouped this time: the embedder is unavailable. "
                        "`faqbot report` lists them.")]
    if not facts.unanswered:
        return [section(f"{title}.")]
    blocks = [section(f"{title} in {facts.unanswered_groups} "
                      f"group{'s' * (facts.unanswered_groups != 1)}, most asked first:")]
    for group in facts.unanswered[:LISTED]:
        who = f"*{group.count}×* by {group.people} {'person' if group.people == 1 else 'people'}"
        if group.question is None:
            blocks.append(section(f"{who}: (the text was not logged: LOG_QUESTION_TEXT=false)"))
            continue
        block = section(f"{who}: {_shown(group.question)}")
        block["accessory"] = button("Add FAQ", ADD, group.question[:VALUE_LIMIT])
        blocks.append(block)
    return blocks + _more(min(len(facts.unanswered), LISTED), facts.unanswered_groups,
                          "groups (`faqbot report` lists them all)")


def _suggestions(facts: HomeFacts) -> list[Block]:
    blocks = [section("*Suggested phrasings*: questions whose askers picked or 👍 an FAQ")]
    if not facts.learning:
        blocks.append(context("Learning is off: with LOG_QUESTION_TEXT=false no question text "
                              "is kept to learn from."))
    if not facts.suggestions:
        return [*blocks, context("None waiting.")] if facts.learning else blocks
    for pending in facts.suggestions[:LISTED]:
        faq = (f"*{_shown(pending.faq_question)}*" if pending.faq_question is not None
               else "an FAQ that is gone")
        line = (f"“{_shown(pending.text)}” → {faq}\nconfirmed by {pending.users} "
                f"{'person' if pending.users == 1 else 'people'}")
        if pending.too_close:
            line += ("\n⚠️ It is closer to another FAQ's phrasings than to this one's: as an "
                     "alternate it would pull that FAQ's questions over.")
        buttons = [button("Reject", REJECT, str(pending.id), style="danger")]
        if pending.faq_question is not None:
            buttons.insert(0, button("Accept", ACCEPT, str(pending.id), style="primary"))
        blocks += [section(line), {"type": "actions", "elements": buttons}]
    return blocks + _more(min(len(facts.suggestions), LISTED), facts.suggestion_count,
                          "(`faqbot faq learn` lists them all)")


def _disliked(facts: HomeFacts) -> list[Block]:
    if not facts.disliked:
        return [section("*Most 👎 in the last 30 days*: none.")]
    blocks = [section("*Most 👎 in the last 30 days*")]
    for faq in facts.disliked[:LISTED]:
        block = section(f"*{_shown(faq.question)}*  👎 {faq.down}  👍 {faq.up}")
        block["accessory"] = button("Edit", EDIT, faq.faq_id)
        blocks.append(block)
    return blocks + _more(min(len(facts.disliked), LISTED), facts.disliked_count, "FAQs")


def bars(values: Sequence[float | None], top: float) -> str:
    """One block character per value, scaled to ``top``; ``NO_DAY`` for None."""
    def bar(value: float | None) -> str:
        if value is None:
            return NO_DAY
        level = math.ceil(value / top * len(BARS)) if top > 0 else 0
        return BARS[min(max(level, 1), len(BARS)) - 1]

    return "".join(bar(value) for value in values)


def _days(days: Sequence[DayCount]) -> list[Block]:
    if not days:
        return []
    asked = [day.questions for day in days]
    total, answered = sum(asked), sum(day.answered for day in days)
    counts = [day.questions or None for day in days]
    shares = [day.answered / day.questions if day.questions else None for day in days]
    rate = f"{answered / total:.0%} answered" if total else "no questions"
    return [
        section(f"*The last {len(days)} days*\n"
                f"`{bars(counts, max(asked))}`  questions a day (most {max(asked)}, "
                f"{total} in all)\n"
                f"`{bars(shares, 1.0)}`  share answered ({rate}; {NO_DAY}: no questions)"),
        context(f"{days[0].day:%b %d} to {days[-1].day:%b %d}, today last. Answered: an "
                "answer or three choices."),
    ]
