"""The tables, created on first use, and the schema version they are recorded under.

Times are naive UTC ``DateTime`` so SQLite and PostgreSQL compare them the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    literal_column,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

# 2: claims carry ``done``, so a claim whose reply never went out expires;
# 3: FAQ edits and their change counter; questions carry their reply's ts; learned phrasings;
# 4: escalations (questions handed to a person);
# 5: the indexes the retention purge walks (LOG_RETENTION_DAYS).
SCHEMA_VERSION = 5
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
                  # [{"id": …, "score": …}]: the FAQs shown, then the others closest.
                  Column("candidates", JSON, nullable=False),
                  Column("latency_ms", Float, nullable=False),
                  # The bot's reply, so a click on it leads back to the question it answered.
                  Column("reply_ts", String, nullable=True),
                  Index("faqbot_questions_at", "at"),
                  Index("faqbot_questions_reply", "channel", "reply_ts"))

def _feedback(name: str, *columns: Column) -> Table:
    """A table of clicks on a posted answer: who, where, when, and ``columns``."""
    return Table(name, metadata,
                 Column("id", Integer, primary_key=True, autoincrement=True),
                 Column("at", DateTime, nullable=False),
                 Column("team", String, nullable=False),
                 Column("channel", String, nullable=False),
                 Column("message_ts", String, nullable=False),
                 Column("user_hash", String(64), nullable=False),
                 *columns,
                 Index(f"{name}_at", "at"))


votes = _feedback("faqbot_votes",
                  Column("faq_id", Text, nullable=False),
                  Column("vote", String(8), nullable=False))  # "up" | "down"

choices = _feedback("faqbot_choices",
                    Column("chosen", Text, nullable=False),
                    Column("shown", JSON, nullable=False))  # the FAQ ids offered, in order

# A log row past LOG_RETENTION_DAYS keeps its counts but not who it was: its ``user_hash``
# (and whatever else leads to a person) is blanked to ``PURGED``. The purge walks only the
# rows not purged yet, oldest first, through a partial index of them: each batch costs the
# same however many purged rows lie behind it.
PURGED = ""


def not_purged(table: Table) -> ColumnElement[bool]:
    """``user_hash <> ''`` spelled with a literal: SQLite uses a partial index only for a
    query term identical to the index's own, which a bound parameter is not."""
    return table.c.user_hash != literal_column("''")


def _unpurged_index(table: Table) -> Index:
    condition = not_purged(table)
    # (at, id): the purge's order, so PostgreSQL reads a batch off the index and stops,
    # rather than sorting every old row for each batch.
    return Index(f"{table.name}_unpurged", table.c.at, table.c.id, sqlite_where=condition,
                 postgresql_where=condition)


PURGE_INDEXES = (
    _unpurged_index(questions), _unpurged_index(votes), _unpurged_index(choices),
    # A vote the same person changed later never counts: found by its message.
    Index("faqbot_votes_message", votes.c.channel, votes.c.message_ts),
)

# FAQ edits made from Slack or the CLI: the latest state of each edited FAQ, merged over the
# dataset at load. ``version`` is the change counter's value when it was written.
faq_edits = Table("faqbot_faq_edits", metadata,
                  Column("faq_id", String, primary_key=True),
                  Column("question", Text, nullable=False),
                  Column("answer", Text, nullable=False),
                  Column("url", Text, nullable=False),
                  Column("alternates", JSON, nullable=False),
                  Column("category", Text, nullable=False),
                  Column("retired", Boolean, nullable=False),
                  Column("vectors", LargeBinary, nullable=True),  # float32, phrasings × dim
                  Column("model_id", Text, nullable=False),
                  Column("editor", Text, nullable=False),
                  Column("at", DateTime, nullable=False),
                  Column("version", Integer, nullable=False))

# One row: bumped in the same transaction as every FAQ edit, so each process learns that
# something changed from one cheap read.
faq_changes = Table("faqbot_faq_changes", metadata,
                    Column("id", Integer, primary_key=True, autoincrement=False),
                    Column("version", Integer, nullable=False))


# Phrasings learned from use: a question whose asker picked an FAQ among the choices, or
# voted 👍 on its answer. One row per (FAQ, question as normalised); ``status`` is pending,
# accepted (now an alternate) or rejected.
suggestions = Table("faqbot_suggestions", metadata,
                    Column("id", Integer, primary_key=True, autoincrement=True),
                    Column("faq_id", String, nullable=False),
                    Column("text", Text, nullable=False),
                    Column("key", String, nullable=False),
                    Column("status", String(16), nullable=False),
                    Column("at", DateTime, nullable=False),
                    Column("decided_by", Text, nullable=True),
                    UniqueConstraint("faq_id", "key"))

# Who confirmed a suggestion: one row per distinct (pseudonymous) user.
confirmations = Table("faqbot_confirmations", metadata,
                      Column("suggestion_id", Integer, nullable=False),
                      Column("user_hash", String(64), nullable=False),
                      Column("at", DateTime, nullable=False),
                      PrimaryKeyConstraint("suggestion_id", "user_hash"),
                      Index("faqbot_confirmations_at", "at"))


# Questions handed to a person: one row per question (its message ts, or a /faq command's
# key), so three clicks or two processes escalate it once. ``thread_*`` is where the
# conversation with the experts lives; ``answered_*`` the first human reply there.
escalations = Table("faqbot_escalations", metadata,
                    Column("id", Integer, primary_key=True, autoincrement=True),
                    Column("team", String, nullable=False),
                    Column("channel", String, nullable=False),
                    Column("question_key", String, nullable=False),
                    Column("asker", String, nullable=False),
                    Column("question", Text, nullable=True),
                    Column("private", Boolean, nullable=False),
                    Column("experts", Text, nullable=False),
                    Column("status", String(16), nullable=False),
                    Column("at", DateTime, nullable=False),
                    Column("thread_channel", String, nullable=True),
                    Column("thread_ts", String, nullable=True),
                    Column("post_ts", String, nullable=True),
                    Column("placing_at", DateTime, nullable=True),  # a process posting it
                    Column("permalink", Text, nullable=True),
                    Column("card_ts", String, nullable=True),
                    Column("claimed_by", String, nullable=True),
                    Column("claimed_at", DateTime, nullable=True),
                    Column("answered_by", String, nullable=True),
                    Column("answered_at", DateTime, nullable=True),
                    Column("answer", Text, nullable=True),
                    Column("resolved_by", String, nullable=True),
                    Column("resolved_at", DateTime, nullable=True),
                    Column("reminded_at", DateTime, nullable=True),
                    Column("saved_as", String, nullable=True),
                    UniqueConstraint("team", "channel", "question_key"),
                    Index("faqbot_escalations_thread", "thread_channel", "thread_ts"))


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
        _add_reply_ts(connection)
        _add_purge_indexes(connection)
        insert_ignoring_duplicates(connection, faq_changes, {"id": 1, "version": 0})
        insert_ignoring_duplicates(connection, meta,
                                   {"key": VERSION_KEY, "value": str(SCHEMA_VERSION)})
        connection.execute(update(meta).where(meta.c.key == VERSION_KEY)
                           .where(meta.c.value < str(SCHEMA_VERSION))
                           .values(value=str(SCHEMA_VERSION)))
        return int(connection.scalar(select(meta.c.value).where(meta.c.key == VERSION_KEY)))


def _add_reply_ts(connection: Connection) -> None:
    """Version 2 → 3: questions logged before it have no reply to lead back from."""
    columns = {column["name"] for column in inspect(connection).get_columns(questions.name)}
    if "reply_ts" not in columns:
        connection.execute(text(f"ALTER TABLE {questions.name} ADD COLUMN reply_ts VARCHAR"))
        connection.execute(text("CREATE INDEX IF NOT EXISTS faqbot_questions_reply "
                                f"ON {questions.name} (channel, reply_ts)"))


def _add_purge_indexes(connection: Connection) -> None:
    """Version 4 → 5: tables made before it lack the indexes the purge walks."""
    for index in (*PURGE_INDEXES, *confirmations.indexes):
        index.create(connection, checkfirst=True)


def _add_claims_done(connection: Connection) -> None:
    """Version 1 → 2: claims made before the column existed were all replied to."""
    columns = {column["name"] for column in inspect(connection).get_columns(claims.name)}
    if "done" not in columns:
        connection.execute(text(f"ALTER TABLE {claims.name} "
                                "ADD COLUMN done BOOLEAN NOT NULL DEFAULT TRUE"))
