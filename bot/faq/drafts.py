"""An FAQ row from what an editor typed, in the CLI or Slack's modal; no numpy, so the Slack
front end can build one."""

from __future__ import annotations

from collections.abc import Sequence

from bot.faq.sources import FaqRow, slug_id

FIELDS = ("question", "answer", "url", "alternates")


def clean_text(value: str) -> str:
    return " ".join(str(value or "").split())


def draft_row(*, question: str, answer: str, url: str = "", alternates: Sequence[str] = (),
              faq_id: str = "", category: str = "") -> FaqRow:
    """An FAQ row from what an editor typed: whitespace collapsed, empty alternates dropped."""
    question = clean_text(question)
    kept = tuple(dict.fromkeys(a for a in (clean_text(a) for a in alternates)
                               if a and a != question))
    return FaqRow(id=clean_text(faq_id) or slug_id(question), question=question,
                  answer=str(answer or "").strip(), url=clean_text(url), alternates=kept,
                  category=clean_text(category))


def split_alternates(text: str) -> list[str]:
    """Typed in the CLI or the modal: one per line, or on a single line ``a | b``. Lines win
    when there are any, so an alternate with a ``|`` of its own survives being shown one per
    line (``join_alternates``) and saved again."""
    text = str(text or "")
    return text.splitlines() if "\n" in text else text.split("|")


def join_alternates(alternates: Sequence[str]) -> str:
    """One per line, ending in a newline: ``split_alternates`` reads it back as lines."""
    return "".join(f"{alternate}\n" for alternate in alternates)
