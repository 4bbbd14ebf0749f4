"""What the engine accepts as a question: collapsed whitespace, capped in length.

The cap is the one place the engine limits text. An embedding sees 256 tokens at most, so
4,000 characters is far beyond any real question; both embedders keep to it too, and the
Slack front end leaves the cutting to this module, so `faqbot ask` answers a long question
exactly as the bot does in Slack.
"""

from __future__ import annotations

from bot.errors import UserError

MAX_QUESTION_CHARS = 4000


def cap(text: str, limit: int = MAX_QUESTION_CHARS) -> str:
    """``text`` cut to ``limit`` characters, on a word boundary where there is one."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut


def clean_question(text: str) -> tuple[str, bool]:
    """Collapse whitespace and cap the length; refuse an empty question.

    Returns the question and whether it was cut.
    """
    question = " ".join(str(text or "").split())
    if not question:
        raise UserError("the question is empty", 'ask something, e.g. faqbot ask "How do I …?"')
    capped = cap(question)
    return capped, len(capped) < len(question)
