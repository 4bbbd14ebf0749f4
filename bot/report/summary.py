"""The report as one JSON-ready dict: decision rates, unanswered groups, per-FAQ feedback."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.faq.policy import Decision
from bot.report.groups import EXACT_HASH, SIMILARITY, THRESHOLD, Group
from bot.storage import Log, Row

EXAMPLES = 3


def summarise(log: Log, groups: Sequence[Group]) -> dict[str, Any]:
    total = len(log.questions)
    counts = Counter(str(row["decision"]) for row in log.questions)
    kinds = {group.grouped_by for group in groups}
    return {
        "since": log.since.isoformat(timespec="seconds") + "Z",
        "questions": total,
        "decisions": {kind: {"count": counts[kind],
                             "rate": round(counts[kind] / total, 4) if total else 0.0}
                      for kind in Decision},
        "unanswered": {"count": counts[Decision.NONE],
                       "grouping": " and ".join(sorted(kinds)) or SIMILARITY,
                       "threshold": THRESHOLD,
                       "groups": [_group(group) for group in groups]},
        "faqs": _faqs(log),
    }


def _group(group: Group) -> dict[str, Any]:
    rows = group.rows
    closest = max((row for row in rows if row["candidates"]),
                  key=lambda row: row["candidates"][0]["score"], default=None)
    return {
        "question": group.question,
        "grouped_by": group.grouped_by,
        "text_hash": str(rows[0]["text_hash"]) if group.grouped_by == EXACT_HASH else None,
        "count": len(rows),
        "people": len({row["user_hash"] for row in rows}),
        "direct": sum(bool(row["direct"]) for row in rows),
        "examples": [text for text, _ in group.phrasings.most_common(EXAMPLES + 1)[1:]],
        "closest_faq": closest["candidates"][0]["id"] if closest else None,
        "closest_score": closest["candidates"][0]["score"] if closest else None,
        "last_asked": max(row["at"] for row in rows).isoformat(timespec="seconds") + "Z",
    }


def _faqs(log: Log) -> list[dict[str, Any]]:
    stats: dict[str, Counter[str]] = {}

    def count(faq_id: object, what: str) -> None:
        stats.setdefault(str(faq_id), Counter())[what] += 1

    for row in log.questions:
        if row["decision"] == Decision.ANSWER and row["candidates"]:
            count(row["candidates"][0]["id"], "answered")
    for vote in latest_votes(log.votes):
        count(vote["faq_id"], str(vote["vote"]))
    for click in log.choices:
        count(click["chosen"], "chosen")
        first = click["shown"][0] if click["shown"] else None
        if first is not None and first != click["chosen"]:
            count(first, "lost_to_choice")
    fields = ("answered", "up", "down", "chosen", "lost_to_choice")
    rows = [{"id": faq_id, **{name: counter[name] for name in fields}}
            for faq_id, counter in stats.items()]
    return sorted(rows, key=lambda row: (-sum(row[name] for name in fields), row["id"]))


def latest_votes(votes: Sequence[Row]) -> list[Row]:
    """A person may change their vote on an answer; the last click counts."""
    latest: dict[tuple[object, ...], Row] = {}
    for vote in votes:  # in time order
        key = (vote["team"], vote["channel"], vote["message_ts"], vote["faq_id"],
               vote["user_hash"])
        latest[key] = vote
    return list(latest.values())
