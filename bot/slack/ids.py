"""The shapes of Slack's ids and timestamps, so a payload's value is checked before it is
echoed in ``<@…>``, stored, or used in a claim key."""

from __future__ import annotations

import re
from typing import TypeGuard

TEAM_OR_CHANNEL = re.compile(r"[A-Z][A-Z0-9]{1,31}", re.ASCII)
USER = re.compile(r"[UW][A-Z0-9]{1,31}", re.ASCII)
TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}", re.ASCII)
TRIGGER = re.compile(r"[0-9A-Za-z._-]{1,128}", re.ASCII)
ESCALATION = re.compile(r"[0-9]{1,12}", re.ASCII)  # an escalation's id, as a button carries it
# A /faq command has no message ts: "command:<trigger id>" stands in for one.
COMMAND_KEY = "command:"


def shaped(value: object, shape: re.Pattern[str]) -> TypeGuard[str]:
    return isinstance(value, str) and shape.fullmatch(value) is not None


def is_direct_message(channel: str) -> bool:
    """Slack's ids for direct-message conversations start with D."""
    return channel.startswith("D")


def is_command_key(key: str) -> bool:
    """Whether a question's key is a /faq command's (it has no message), not a message ts."""
    return key.startswith(COMMAND_KEY)


def asked_privately(channel: str, key: str) -> bool:
    """A question only its asker saw: asked with /faq (``key``), or in a direct message."""
    return is_command_key(key) or is_direct_message(channel)
