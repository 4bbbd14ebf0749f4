"""Read the log since a point in time, for ``faqbot report`` and the App Home, and the
escalations still waiting for an editor, for the App Home.

Unlike the bot, the report fails loudly (exit 2) when the database can't be read: someone is
at the terminal to fix it. It only reads: a missing SQLite file is not created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Table, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import UserError
from bot.storage import schema
from bot.storage.escalations import RESOLVED, Escalation
from bot.storage.url import describe_error, open_engine, parse_url, redact

Row = Mapping[str, object]


@dataclass(frozen=True)
class Log:
    since: datetime
    questions: list[Row]
    votes: list[Row]
    choices: list[Row]
    escalations: list[Escalation] = field(default_factory=list)  # made since ``since``


def log_since(connection: Connection, since: datetime) -> Log:
    """Every question, vote, choice and escalation logged at or after ``since``, oldest
    first.

    Only the tables and columns the database has: a log written by an older faqbot, which
    the report reads without migrating, lacks the newer ones."""
    def rows(table: Table) -> list[Row]:
        columns = _present(connection, table)
        if not columns:
            return []
        query = select(*columns).where(table.c.at >= since).order_by(table.c.at, table.c.id)
        return list(connection.execute(query).mappings())

    return Log(since, rows(schema.questions), rows(schema.votes), rows(schema.choices),
               [Escalation(**row) for row in rows(schema.escalations)])


def _present(connection: Connection, table: Table) -> list:
    """``table``'s columns the database has; none when it lacks the table."""
    inspector = inspect(connection)
    if not inspector.has_table(table.name):
        return []
    present = {column["name"] for column in inspector.get_columns(table.name)}
    return [column for column in table.c if column.name in present]


@dataclass(frozen=True)
class Waiting:
    """Escalations an editor should see: each list holds the first ``shown``, each count
    how many there are in all."""

    open: list[Escalation]  # not resolved, oldest first: the longest waiting
    open_count: int
    unsaved: list[Escalation]  # a person answered in words, no FAQ saved yet; latest first
    unsaved_count: int


def waiting_escalations(connection: Connection, shown: int) -> Waiting:
    """Two bounded reads and two counts, whatever the table holds (every escalation ever
    made stays in it)."""
    table = schema.escalations
    unresolved = table.c.status != RESOLVED
    unsaved = (table.c.answered_by.is_not(None) & table.c.saved_as.is_(None)
               & (table.c.answer != ""))  # a reply with no text (a file) has nothing to save

    def listed(condition, *order) -> list[Escalation]:
        query = select(table).where(condition).order_by(*order).limit(shown)
        return [Escalation(**row) for row in connection.execute(query).mappings()]

    def count(condition) -> int:
        return connection.scalar(select(func.count()).select_from(table).where(condition))

    return Waiting(open=listed(unresolved, table.c.at, table.c.id),
                   open_count=count(unresolved),
                   unsaved=listed(unsaved, table.c.answered_at.desc(), table.c.id.desc()),
                   unsaved_count=count(unsaved))


def read_log(database_url: str, since: datetime) -> Log:
    url = parse_url(database_url)
    no_log = UserError(f"there is no question log at {redact(url)}",
                       "run faqbot report where faqbot serve runs, or set DATABASE_URL to its "
                       "database")
    if url.drivername.startswith("sqlite") and not Path(str(url.database)).is_file():
        raise no_log  # connecting would create an empty file: a report only reads
    engine = open_engine(url)
    try:
        if not inspect(engine).has_table(schema.questions.name):
            raise no_log
        with engine.connect() as connection:
            return log_since(connection, since)
    except SQLAlchemyError as error:
        raise UserError(f"cannot read the question log at {redact(url)} "
                        f"({describe_error(error, url)})",
                        "check DATABASE_URL and that the database is running") from None
    finally:
        engine.dispose()
