"""The tables, created on first use, and the schema version they are recorded under.

Times are naive UTC ``DateTime`` so SQLite and PostgreSQL compare them the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    inspect,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

SCHEMA_VERSION = 2  # 2: claims carry ``done``, so a claim whose reply never went out expires
VERSION_KEY = "schema_version"

metadata = MetaData()

meta = Table("faqbot_meta", metadata,
             Column("key", String(64), primary_key=True),
             Column("value", Text, nullable=False))

# One row per user message the bot took on, across every process: the unique key is the lock.
# ``done`` once the reply went out; a claim still not done after its lease (``at`` is when it
# was taken) is taken again by Slack's retry, so a crash mid-reply loses no question.
claims = Table("faqbot_claims", metadata,
               Column("team", String, nullable=False),
               Column("channel", String, nullable=False),
               Column("ts", String, nullable=False),
               Column("at", DateTime, nullable=False),
               Column("done", Boolean, nullable=False, server_default=true()),
               PrimaryKeyConstraint("team", "channel", "ts"))

questions = Table("faqbot_questions", metadata,
                  Column("id", Integer, primary_key=True, autoincrement=True),
                  Column("at", DateTime, nullable=False),
                  Column("team", String, nullable=False),
                  Column("channel", String, nullable=False),
                  Column("ts", String, nullable=False),
                  Column("user_hash", String(64), nullable=False),
                  Column("text", Text, nullable=True),  # NULL when LOG_QUESTION_TEXT=false
                  Column("text_hash", String(64), nullable=False),
                  Column("decision", String(16), nullable=False),
                  Column("direct", Boolean, nullable=False),
                  Column("candidates", JSON, nullable=False),  # [{"id": …, "score": …}], best first
                  Column("latency_ms", Float, nullable=False),
                  Index("faqbot_questions_at", "at"))

votes = Table("faqbot_votes", metadata,
              Column("id", Integer, primary_key=True, autoincrement=True),
              Column("at", DateTime, nullable=False),
              Column("team", String, nullable=False),
              Column("channel", String, nullable=False),
              Column("message_ts", String, nullable=False),
              Column("user_hash", String(64), nullable=False),
              Column("faq_id", Text, nullable=False),
              Column("vote", String(8), nullable=False),  # "up" | "down"
              Index("faqbot_votes_at", "at"))

choices = Table("faqbot_choices", metadata,
                Column("id", Integer, primary_key=True, autoincrement=True),
                Column("at", DateTime, nullable=False),
                Column("team", String, nullable=False),
                Column("channel", String, nullable=False),
                Column("message_ts", String, nullable=False),
                Column("user_hash", String(64), nullable=False),
                Column("chosen", Text, nullable=False),
                Column("shown", JSON, nullable=False),  # the FAQ ids offered, in order
                Index("faqbot_choices_at", "at"))


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


Row = dict[str, object]


def insert_ignoring_duplicates(connection: Connection, table: Table, rows: Row | list[Row]) -> int:
    """INSERT … ON CONFLICT DO NOTHING; for one row, returns 1 if it was new, else 0.

    psycopg reports no rowcount for an INSERT unless SQLAlchemy is asked to keep it."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    result = connection.execute(dialect.insert(table).on_conflict_do_nothing(), rows,
                                execution_options={"preserve_rowcount": True})
    return result.rowcount


CREATE_ATTEMPTS = 10


def ensure_schema(engine: Engine) -> int:
    """Create missing tables and record the version; returns the recorded version.

    Processes starting together race to create the same tables: a loser's pass fails on a
    table another process just made. Every pass lets at least one table be created, so a
    few passes (more than the schema has tables) always converge; a real error still
    surfaces after the last one.
    """
    for _ in range(CREATE_ATTEMPTS - 1):
        try:
            return _create(engine)
        except SQLAlchemyError:
            continue
    return _create(engine)


def _create(engine: Engine) -> int:
    with engine.begin() as connection:
        metadata.create_all(connection)
        _add_claims_done(connection)
        insert_ignoring_duplicates(connection, meta,
                                   {"key": VERSION_KEY, "value": str(SCHEMA_VERSION)})
        connection.execute(update(meta).where(meta.c.key == VERSION_KEY)
                           .where(meta.c.value < str(SCHEMA_VERSION))
                           .values(value=str(SCHEMA_VERSION)))
        return int(connection.scalar(select(meta.c.value).where(meta.c.key == VERSION_KEY)))


def _add_claims_done(connection: Connection) -> None:
    """Version 1 → 2: claims made before the column existed were all replied to."""
    columns = {column["name"] for column in inspect(connection).get_columns(claims.name)}
    if "done" not in columns:
        connection.execute(text(f"ALTER TABLE {claims.name} "
                                "ADD COLUMN done BOOLEAN NOT NULL DEFAULT TRUE"))
