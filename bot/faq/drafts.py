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
    """``a | b`` or one per line, as typed on the command line."""
    return [part for line in str(text or "").splitlines() for part in line.split("|")]


def split_lines(text: str) -> list[str]:
    """One per line, as typed in the FAQ form. A ``|`` there is part of its alternate, so an
    FAQ shown in the form (one alternate per line) is saved back as it was."""
    return str(text or "").splitlines()
