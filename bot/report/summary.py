"""The report as one JSON-ready dict: decision rates, unanswered groups, per-FAQ feedback,
and the questions handed to a person (escalations)."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.faq.policy import Decision
from bot.report.groups import EXACT_HASH, SIMILARITY, THRESHOLD, Group
from bot.storage import RESOLVED, Escalation, Log, Row, is_purged

EXAMPLES = 3


def summarise(log: Log, groups: Sequence[Group]) -> dict[str, Any]:
    total = len(log.questions)
    counts = Counter(str(row["decision"]) for row in log.questions)
    kinds = {group.grouped_by for group in groups}
    escalated = {(e.team, e.channel, e.question_key) for e in log.escalations}
    return {
        "since": log.since.isoformat(timespec="seconds") + "Z",
        "questions": total,
        "decisions": {kind: {"count": counts[kind],
                             "rate": round(counts[kind] / total, 4) if total else 0.0}
                      for kind in Decision},
        "unanswered": {"count": counts[Decision.NONE],
                       # past LOG_RETENTION_DAYS: counted, with no text left to group by
                       "purged": sum(row["decision"] == Decision.NONE and is_purged(row)
                                     for row in log.questions),
                       "grouping": " and ".join(sorted(kinds)) or SIMILARITY,
                       "threshold": THRESHOLD,
                       "groups": [_group(group, escalated) for group in groups]},
        "faqs": _faqs(log),
        "escalations": escalation_summary(log.questions, log.escalations),
    }


def escalation_summary(questions: Sequence[Row],
                       escalations: Sequence[Escalation]) -> dict[str, Any]:
    """How often a person was needed, and how fast one came, over one period's log.

    The self-service rate is the share of questions asked directly (a mention, DM or /faq)
    that ended without a person: 1 − escalations / direct questions. An escalation after a
    👎 on a channel answer counts too, so the rate errs low, never flattering the bot; None
    without direct questions."""
    direct = sum(bool(row.get("direct")) for row in questions)
    first = [_minutes(e.at, e.answered_at) for e in escalations if e.answered_at is not None]
    resolved = [_minutes(e.at, e.resolved_at) for e in escalations
                if e.status == RESOLVED and e.resolved_at is not None]
    rate = max(0.0, 1 - len(escalations) / direct) if direct else None
    return {
        "count": len(escalations),
        "median_first_reply_minutes": _median(first),
        "median_resolution_minutes": _median(resolved),
        "self_service_rate": None if rate is None else round(rate, 4),
        "direct_questions": direct,
        "unresolved": [_unresolved(e) for e in escalations if e.status != RESOLVED],
    }


def _minutes(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 60)


def _median(minutes: Sequence[float]) -> float | None:
    return round(statistics.median(minutes), 1) if minutes else None


def _unresolved(escalation: Escalation) -> dict[str, Any]:
    return {"id": escalation.id, "question": escalation.question,
            "status": escalation.status,
            "asked": escalation.at.isoformat(timespec="seconds") + "Z",
            "claimed_by": escalation.claimed_by, "answered_by": escalation.answered_by}


def _group(group: Group, escalated: set[tuple[str, str, str]]) -> dict[str, Any]:
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
        "escalated": sum((row["team"], row["channel"], row["ts"]) in escalated for row in rows),
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
    """A person may change their vote on an answer; the last click counts. A vote past
    LOG_RETENTION_DAYS has no voter left to tell: the purge kept only last clicks, so each
    counts."""
    latest: dict[tuple[object, ...], Row] = {}
    for number, vote in enumerate(votes):  # in time order
        key = ((number,) if is_purged(vote) else
               (vote["team"], vote["channel"], vote["message_ts"], vote["faq_id"],
                vote["user_hash"]))
        latest[key] = vote
    return list(latest.values())
