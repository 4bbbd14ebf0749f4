"""``faqbot report``: what people asked, what the bot did, and how its answers were received."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.faq.policy import Decision
from bot.report.groups import group_unanswered
from bot.report.period import parse_since
from bot.report.summary import summarise
from bot.storage import read_log, utcnow, vet_choice

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.report.groups import Embed


def build_report(settings: Settings, since: str, *, now: datetime | None = None
                 ) -> dict[str, Any]:
    """The report over the log since ``since`` (``7d``, ``24h``, ``2024-05-01``…)."""
    warning = vet_choice(settings)
    if warning:
        logging.getLogger(__name__).warning("%s", warning)
    log = read_log(settings.database_url, parse_since(since, now or utcnow()))

    def embed() -> Embed:
        from bot.faq.embedders import create_embedder

        return create_embedder(settings).embed

    unanswered = [row for row in log.questions if row["decision"] == Decision.NONE]
    return summarise(log, group_unanswered(unanswered, embed))
