"""``faqbot export``: the merged FAQ written in ``faqbot build``'s layout, vectors included.

Committing the result to the dataset's Hub repo makes the edits permanent; after a push,
``faqbot faq clear --pushed`` removes the edits it carried, by their change version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.faq.dataset import prepare_out, push, write_dataset

if TYPE_CHECKING:
    from bot.live.faq import LiveFaq


@dataclass(frozen=True)
class Exported:
    rows: int
    edited: int
    version: int  # the change version the export includes
    out: Path
    pushed_to: str = ""


def export(live: LiveFaq, out: Path, *, push_to: str = "", token: str = "",
           record: bool = False) -> Exported:
    """Write the merged FAQ to ``out``; with ``push_to``, push it, and with ``record`` (the
    push went to the dataset the bot serves) record which edits it now holds, for
    ``faqbot faq clear --pushed``. The vectors are the loaded ones: nothing is embedded."""
    version = live.store.faq_version() or 0  # read first: edits after it aren't included
    live.refresh()
    faq = live.faq
    prepare_out(out)
    write_dataset(out, faq)
    pushed_to = ""
    if push_to:
        pushed_to = push(out, push_to, token)
        if record:
            live.store.record_faq_push(version)
    return Exported(rows=len(faq), edited=len(faq.edited), version=version, out=out,
                    pushed_to=pushed_to)
