"""Turn Slack message markup into the plain question the FAQ engine should see.

Slack sends ``<@U123>`` mentions, ``<https://x|label>`` links, ``<#C1|general>`` channel
references, ``&amp;``-escaped text, code fences and ``:emoji:`` shortcodes. None of that helps
an embedding match a FAQ question, and some of it (a pasted stack trace) drowns the question.
"""

from __future__ import annotations

import html
import re

# Slack cuts a message at 40,000 characters. Anything longer (text posted through the API,
# a hostile client) is cut too, before any pattern runs, so cleaning time has a ceiling.
# (The question's own length cap is the engine's: ``bot.faq.question``.)
MAX_RAW_CHARS = 40_000

# Linear time: no class inside markup may match "<" or ">", so an unclosed "<" is given up
# at the next "<" instead of rescanning the rest of the text from every opener.
_FENCE = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]*)`")
_USER = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^<>]*)?>")
_CHANNEL = re.compile(r"<#[CG][A-Z0-9]+(?:\|([^<>]*))?>")
_SPECIAL = re.compile(r"<!([^<>|]+)(?:\|([^<>]*))?>")
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
# JSON can carry a lone surrogate ("\ud800"); no encoder or tokenizer takes one.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Not preceded by a word character or colon, so "10:30:45" stays intact.
_EMOJI = re.compile(r"(?<![\w:]):[a-z0-9_+'-]+:(?::skin-tone-\d:)?")


def mentions(text: str, user_id: str) -> bool:
    """True when ``text`` mentions ``user_id`` (``<@U123>`` or ``<@U123|name>``)."""
    return bool(user_id) and re.search(rf"<@{re.escape(user_id)}(?:\|[^<>]*)?>",
                                            text[:MAX_RAW_CHARS]) is not None


def _special(match: re.Match[str]) -> str:
    """``<!here>`` and friends carry no meaning; dates and user groups keep their label."""
    return match.group(2) or ""


def _channel(match: re.Match[str]) -> str:
    label = match.group(1)
    return f"#{label}" if label else ""


def _link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if label:
        return label
    return target.removeprefix("mailto:")


def clean(text: str) -> str:
    """Plain question text: markup resolved, code and emoji dropped, whitespace collapsed;
    empty when nothing is left to ask. Lone surrogates become U+FFFD, so the question is
    still answered. The engine caps the length (``bot.faq.question``)."""
    text = _SURROGATE.sub("\ufffd", (text or "")[:MAX_RAW_CHARS])
    text = _FENCE.sub(" ", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _USER.sub(" ", text)
    text = _CHANNEL.sub(_channel, text)
    text = _SPECIAL.sub(_special, text)
    text = _LINK.sub(_link, text)
    text = _EMOJI.sub(" ", text)
    return " ".join(html.unescape(text).split())


def _plain_special(match: re.Match[str]) -> str:
    """``<!here>`` becomes the word "@here": readable, and no ping once rendered escaped."""
    return match.group(2) or f"@{match.group(1).split('^', 1)[0]}"


def _plain_user(match: re.Match[str]) -> str:
    inner = match.group(0)[2:-1]
    name = inner.partition("|")[2]
    return f"@{name or inner}"


def _plain_link(match: re.Match[str]) -> str:
    """A labelled link keeps its address, so an answer prefilled from it still says where."""
    target, label = match.group(1).removeprefix("mailto:"), match.group(2)
    return f"{label} ({target})" if label and label != target else target


def plain(text: str) -> str:
    """A message as an editor would retype it, for prefilling the FAQ modal: markup resolved
    to its readable text (mentions as ``@name``, links as ``label (url)``), ``&amp;`` and
    friends unescaped, but code, emoji and line breaks kept, since an answer may need them."""
    text = _SURROGATE.sub("\ufffd", (text or "")[:MAX_RAW_CHARS])
    text = _USER.sub(_plain_user, text)
    text = _CHANNEL.sub(_channel, text)
    text = _SPECIAL.sub(_plain_special, text)
    text = _LINK.sub(_plain_link, text)
    return html.unescape(text).strip()
