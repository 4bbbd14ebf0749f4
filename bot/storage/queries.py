"""Read the log since a point in time, for ``faqbot report`` and the App Home.

Unlike the bot, the report fails loudly (exit 2) when the database can't be read: someone is
at the terminal to fix it. It only reads: a missing SQLite file is not created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Table, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import UserError
from bot.storage import schema
from bot.storage.url import describe_error, open_engine, parse_url, redact

Row = Mapping[str, object]


@dataclass(frozen=True)
class Log:
    since: datetime
    questions: list[Row]
    votes: list[Row]
    choices: list[Row]


def log_since(connection: Connection, since: datetime) -> Log:
    """Every question, vote and choice logged at or after ``since``, oldest first.

    Only the columns the database has: a log written by an older faqbot, which the report
    reads without migrating, lacks the newer ones."""
    def rows(table: Table) -> list[Row]:
        present = {column["name"] for column in inspect(connection).get_columns(table.name)}
        columns = [column for column in table.c if column.name in present]
        query = select(*columns).where(table.c.at >= since).order_by(table.c.at, table.c.id)
        return list(connection.execute(query).mappings())

    return Log(since, rows(schema.questions), rows(schema.votes), rows(schema.choices))


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
