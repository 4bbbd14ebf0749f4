"""Question text made inert for the report: logged questions are anyone's input.

In a terminal, control characters (ESC sequences, bidi overrides) can clear the screen, retitle
the window or reorder what is shown. In a spreadsheet, a cell starting with ``=``, ``+``,
``-`` or ``@`` (or a tab or carriage return before one) is a formula: ``=HYPERLINK(…)``.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 and C1 controls, DEL, and the bidi embedding, override and isolate characters.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_WHITESPACE_CONTROLS = re.compile("[\t\n\r\x0b\x0c]")
FORMULA_STARTS = ("=", "+", "-", "@")


def printable(text: str) -> str:
    """``text`` with tabs and newlines as spaces and every other control character gone."""
    return _CONTROLS.sub("", _WHITESPACE_CONTROLS.sub(" ", text))


def printable_lines(text: str) -> str:
    """``text`` made ``printable`` line by line: an FAQ answer keeps its line breaks."""
    return "\n".join(printable(line) for line in text.split("\n"))


def inert_json(value: Any) -> str:
    """``value`` as JSON that reads back exactly, with the controls and bidi characters that
    ``json.dumps`` leaves raw (C1, DEL, bidi) written as ``\\uXXXX`` escapes."""
    return _CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}",
                         json.dumps(value, ensure_ascii=False))


def csv_cell(value: Any) -> Any:
    """A CSV cell no spreadsheet runs: OWASP's advice, a ``'`` before a formula's first
    character, so the text shows as typed. Numbers are left as numbers."""
    if not isinstance(value, str):
        return value
    text = printable(value)
    return "'" + text if text.lstrip().startswith(FORMULA_STARTS) else text
