"""The README's content moved to docs/ without loss (issue 21, item 2).

``readme_before_split.json`` lists every heading and every figure of README.md as it was
before the move (commit 809c3ec), made with ``inventory`` below::

    git show 809c3ec:README.md | python -m tests.docs.test_nothing_lost > \
        tests/docs/readme_before_split.json

Each must still be found in README.md or a page under docs/: a heading as a heading, a figure
anywhere in the text. A figure that a later measurement replaced stays as the "before" of a
before → after.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from tests.docs.markdown import headings, pages

INVENTORY = Path(__file__).with_name("readme_before_split.json")
# A measured figure: a number with a unit or a percent sign, or any decimal number.
FIGURE = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d+)?(?: ?(?:%|×|ms|µs|MB|GB|min|s)(?!\w))"
                    r"|(?<![\w.,])\d+\.\d+(?![\w.])")


def inventory(text: str) -> dict[str, list[str]]:
    """The headings and the figures of a Markdown text, each once, in order."""
    figures = dict.fromkeys(" ".join(m.group(0).split()) for m in FIGURE.finditer(text))
    return {"headings": list(dict.fromkeys(headings(text))), "figures": list(figures)}


def missing_now() -> dict[str, list[str]]:
    """What the inventory lists that README.md and docs/ no longer have."""
    before = json.loads(INVENTORY.read_text(encoding="utf-8"))
    texts = [page.read_text(encoding="utf-8") for page in pages()]
    now_headings = {h for text in texts for h in headings(text)}
    prose = " ".join(" ".join(text.split()) for text in texts)
    return {"headings": [h for h in before["headings"] if h not in now_headings],
            "figures": [f for f in before["figures"] if f not in prose]}


def test_every_heading_and_figure_of_the_old_readme_is_still_there() -> None:
    assert missing_now() == {"headings": [], "figures": []}


def test_the_inventory_is_the_whole_readme() -> None:
    before = json.loads(INVENTORY.read_text(encoding="utf-8"))
    assert len(before["headings"]) > 40 and len(before["figures"]) > 500


def test_figures_are_numbers_with_units_or_decimals() -> None:
    found = inventory("# T\np50 12.6 ms, 94.4 %, 1.3×, 3,080 test questions, 5 min, "
                      "2 cores, v1.8, ≤ 2 ms\n")
    assert found == {"headings": ["T"],
                     "figures": ["12.6 ms", "94.4 %", "1.3×", "5 min", "2 ms"]}


if __name__ == "__main__":
    json.dump(inventory(sys.stdin.read()), sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")
