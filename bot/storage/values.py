"""Values made storable before they reach a driver.

PostgreSQL text can't hold NUL, and no driver encodes a lone surrogate (JSON can carry
``"\\ud800"``). Either used to raise on the row, so text is cleaned here instead: NULs are
dropped and lone surrogates become U+FFFD, in strings nested in JSON columns too.
"""

from __future__ import annotations

import re
from typing import TypeVar

T = TypeVar("T")

_UNSTORABLE = re.compile(r"\x00|([\ud800-\udfff])")


def storable_text(text: str) -> str:
    return _UNSTORABLE.sub(lambda match: "\ufffd" if match.group(1) else "", text)


def storable(value: T) -> T:
    """``value`` with every string in it made storable (dicts and lists walked)."""
    if isinstance(value, str):
        return storable_text(value)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}  # type: ignore[return-value]
    if isinstance(value, (list, tuple)):
        return type(value)(storable(item) for item in value)  # type: ignore[return-value]
    return value
