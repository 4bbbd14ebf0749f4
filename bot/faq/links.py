"""The rule for an FAQ's ``url``: an http(s) address with a host, or nothing.

Every answer links its FAQ, so the url reaches every reader. A Hub dataset may be edited by
someone other than the bot's admin; only web links are let through, and nothing that can't
be part of a URL (spaces, control characters, ``<`` or ``>``) that could end Slack's link.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bot.errors import UserError

SCHEMES = ("http", "https")
_NOT_IN_A_URL = re.compile(r"[\s\x00-\x1f\x7f<>]")
SHOWN_CHARS = 80


def check_url(url: str, *, where: str, row: int) -> str:
    """``url`` unchanged if it's usable (empty is), else a ``UserError`` naming the row."""
    if not url or is_web_link(url):
        return url
    shown = url if len(url) <= SHOWN_CHARS else url[:SHOWN_CHARS] + "…"
    raise UserError(f"{where} row {row} has url {shown!r}, which is not an http(s) link",
                    "use a full http:// or https:// address (percent-encode spaces, < and >), "
                    "or leave url empty")


def is_web_link(url: str) -> bool:
    if _NOT_IN_A_URL.search(url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in SCHEMES and bool(host)
