"""The report for people: a terminal summary, or the unanswered groups as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from bot.faq.policy import Decision
from bot.report.groups import EXACT_HASH
from bot.report.inert import csv_cell, printable

CSV_FIELDS = ("count", "people", "direct", "question", "examples", "closest_faq",
              "closest_score", "last_asked", "grouped_by", "text_hash", "escalated")
LABELS = {Decision.ANSWER: "answered", Decision.CHOICES: "choices",
          Decision.NONE: "silent"}


def as_text(report: dict[str, Any], since_label: str) -> str:
    """The terminal summary; question texts and FAQ ids pass through ``printable``."""
    lines = [f"{report['questions']} questions since {report['since']} ({since_label})"]
    for kind, label in LABELS.items():
        decision = report["decisions"][kind]
        lines.append(f"  {label:<10}{decision['count']:>6}  {decision['rate']:>6.0%}")
    unanswered = report["unanswered"]
    lines += ["", f"Unanswered: {unanswered['count']} questions in "
                  f"{len(unanswered['groups'])} groups ({_grouping(unanswered)})"]
    if unanswered.get("purged"):
        lines.append(f"  {unanswered['purged']} of them older than LOG_RETENTION_DAYS: "
                     "counted, their text purged")
    for group in unanswered["groups"]:
        who = f"{group['count']}× by {group['people']} people ({group['direct']} direct)"
        if group["escalated"]:
            who += f", {group['escalated']} asked a person"
        lines.append(f"  {who:<32}{printable(_title(group))}")
        if group["examples"]:
            lines.append("      also: " + "; ".join(f'"{printable(text)}"'
                                                    for text in group["examples"]))
        if group["closest_faq"]:
            lines.append(f"      closest FAQ: {printable(group['closest_faq'])} "
                         f"(score {group['closest_score']:.2f})")
    lines += ["", f"  {'FAQ':<32}{'answered':>9}{'👍':>4}{'👎':>4}{'chosen':>8}"
                  f"{'lost to a choice':>18}"]
    for faq in report["faqs"]:
        lines.append(f"  {printable(faq['id']):<32}{faq['answered']:>9}{faq['up']:>5}"
                     f"{faq['down']:>5}{faq['chosen']:>8}{faq['lost_to_choice']:>18}")
    return "\n".join(lines + _escalations(report["escalations"]))


def _escalations(escalations: dict[str, Any]) -> list[str]:
    """How often a person was needed, and the questions still waiting for one."""
    rate = escalations["self_service_rate"]
    lines = ["", f"Asked a person: {escalations['count']} "
                 f"({_share(rate)} of {escalations['direct_questions']} direct questions "
                 "ended without one)",
             f"  median first human reply {_duration(escalations['median_first_reply_minutes'])}"
             f", median resolution {_duration(escalations['median_resolution_minutes'])}"]
    for waiting in escalations["unresolved"]:
        who = (f"claimed by {printable(waiting['claimed_by'])}" if waiting["claimed_by"]
               else "not claimed")
        if waiting["answered_by"]:
            who += f", answered by {printable(waiting['answered_by'])}"
        question = (printable(waiting["question"]) if waiting["question"] is not None
                    else "(text not logged)")
        lines.append(f"  {waiting['status']:<8} {waiting['asked']}  {who}: {question}")
    return lines


def _share(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def _duration(minutes: float | None) -> str:
    return "—" if minutes is None else f"{minutes:g} min"


def as_csv(report: dict[str, Any]) -> str:
    """The unanswered groups, one row each; every text cell passes through ``csv_cell``."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for group in report["unanswered"]["groups"]:
        row = {**group, "examples": " | ".join(group["examples"])}
        writer.writerow({field: csv_cell(row.get(field)) for field in CSV_FIELDS})
    return out.getvalue()


def _grouping(unanswered: dict[str, Any]) -> str:
    if unanswered["grouping"] == EXACT_HASH:
        return "texts were not logged (LOG_QUESTION_TEXT=false): grouped by exact hash only"
    return f"grouped by {unanswered['grouping']}, cosine ≥ {unanswered['threshold']}"


def _title(group: dict[str, Any]) -> str:
    if group["question"] is not None:
        return group["question"]
    return f"(text not logged; hash {group['text_hash'][:12]})"
