"""Read the log since a point in time. Unlike the bot, the report fails loudly (exit 2)
when the database can't be read: someone is at the terminal to fix it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, select
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import UserError
from bot.storage import schema
from bot.storage.url import describe_error, open_engine, parse_url, redact

Row = Mapping[str, object]
UNITS = {"h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Log:
    since: datetime
    questions: list[Row]
    votes: list[Row]
    choices: list[Row]


def parse_since(value: str, now: datetime) -> datetime:
    """``7d``, ``24h``, ``2w`` before ``now`` (naive UTC), or a date such as ``2024-05-01``."""
    text = value.strip().lower()
    match = re.fullmatch(r"(\d+)\s*([hdw])", text)
    if match:
        return now - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise UserError(f"--since {value!r} is neither a duration nor a date",
                        "use a duration such as 7d, 24h or 2w, or a date such as 2024-05-01"
                        ) from None


def read_log(database_url: str, since: datetime) -> Log:
    url = parse_url(database_url)
    engine = open_engine(url)
    try:
        schema.ensure_schema(engine)
        with engine.connect() as connection:
            def rows(table: Table) -> list[Row]:
                query = (select(table).where(table.c.at >= since)
                         .order_by(table.c.at, table.c.id))
                return list(connection.execute(query).mappings())

            return Log(since, rows(schema.questions), rows(schema.votes), rows(schema.choices))
    except SQLAlchemyError as error:
        raise UserError(f"cannot read the question log at {redact(url)} "
                        f"({describe_error(error, url)})",
                        "check DATABASE_URL and that the database is running") from None
    finally:
        engine.dispose()
