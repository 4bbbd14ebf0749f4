"""``--since``: a duration back from now, or a date."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.errors import UserError

UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime) -> datetime:
    """``7d``, ``24h``, ``2w`` before ``now`` (naive UTC), or a date such as ``2024-05-01``."""
    text = value.strip().lower()
    match = re.fullmatch(r"(\d+)\s*([hdw])", text)
    try:
        if match:
            return now - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is not None:  # the log is in UTC
            moment = moment.astimezone(UTC)
        return moment.replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise UserError(f"--since {value!r} is neither a duration nor a date",
                        "use a duration such as 7d, 24h or 2w, or a date such as 2024-05-01"
                        ) from None
