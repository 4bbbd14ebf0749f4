"""Question text made inert for the report: logged questions are anyone's input.

In a terminal, control characters (ESC sequences, bidi overrides) can clear the screen, retitle
the window or reorder what is shown. In a spreadsheet, a cell starting with ``=``, ``+``,
``-`` or ``@`` (or a tab or carriage return before one) is a formula: ``=HYPERLINK(…)``.
"""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 controls, DEL, and the bidi embedding, override and isolate characters.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_WHITESPACE_CONTROLS = re.compile("[\t\n\r\x0b\x0c]")
FORMULA_STARTS = ("=", "+", "-", "@")


def printable(text: str) -> str:
    """``text`` with tabs and newlines as spaces and every other control character gone."""
    return _CONTROLS.sub("", _WHITESPACE_CONTROLS.sub(" ", text))


def csv_cell(value: Any) -> Any:
    """A CSV cell no spreadsheet runs: OWASP's advice, a ``'`` before a formula's first
    character, so the text shows as typed. Numbers are left as numbers."""
    if not isinstance(value, str):
        return value
    text = printable(value)
    return "'" + text if text.lstrip().startswith(FORMULA_STARTS) else text
