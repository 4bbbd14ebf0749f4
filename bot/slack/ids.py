"""The shapes of Slack's ids and timestamps, so a payload's value is checked before it is
echoed in ``<@…>``, stored, or used in a claim key."""

from __future__ import annotations

import re
from typing import TypeGuard

TEAM_OR_CHANNEL = re.compile(r"[A-Z][A-Z0-9]{1,31}", re.ASCII)
USER = re.compile(r"[UW][A-Z0-9]{1,31}", re.ASCII)
TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}", re.ASCII)
TRIGGER = re.compile(r"[0-9A-Za-z._-]{1,128}", re.ASCII)


def shaped(value: object, shape: re.Pattern[str]) -> TypeGuard[str]:
    return isinstance(value, str) and shape.fullmatch(value) is not None


def is_direct_message(channel: str) -> bool:
    """Slack's ids for direct-message conversations start with D."""
    return channel.startswith("D")
