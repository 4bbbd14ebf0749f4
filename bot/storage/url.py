"""DATABASE_URL → a SQLAlchemy engine, with the password kept out of every message.

SQLite is the default (a file in the working directory); PostgreSQL goes through psycopg 3,
whatever spelling of the scheme the platform hands us (Heroku says ``postgres://``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError

from bot.errors import UserError

DEFAULT_SQLITE_FILE = "faqbot.sqlite3"
POSTGRES_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg")
SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
# A claim sits in front of every reply, so waiting for a dead server must stay short.
CONNECT_TIMEOUT_SECONDS = 3
# Writers in other processes hold SQLite's lock for well under a millisecond per insert.
SQLITE_BUSY_TIMEOUT_MS = 5000
USAGE = "set DATABASE_URL to sqlite:///path/to/file.sqlite3 or postgresql://user:pass@host/db"


# libpq also takes secrets as query parameters (?password=…).
SECRET_QUERY_KEYS = frozenset({"password", "passfile", "sslpassword", "sslkey"})


def _secrets(url: URL) -> list[str]:
    values = [str(url.password)] if url.password else []
    for key, value in url.query.items():
        if key.lower() in SECRET_QUERY_KEYS:
            values.extend([value] if isinstance(value, str) else list(value))
    return [v for v in values if v]


def redact(url: URL) -> str:
    masked = url.update_query_dict({k: "***" for k in url.query if k.lower() in SECRET_QUERY_KEYS})
    return masked.render_as_string(hide_password=True)


def describe_error(error: BaseException, url: URL) -> str:
    """The driver's first line, never SQLAlchemy's full text: that holds the statement's
    parameters (question texts). Secrets are masked in case a driver echoes them."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    text = f"{type(cause).__name__}: {lines[0] if lines else 'no details'}"
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text


def parse_url(raw: str | None) -> URL:
    """Normalise DATABASE_URL; unset means ``faqbot.sqlite3`` in the working directory."""
    raw = (raw or "").strip()
    if not raw:
        return make_url(f"sqlite:///{Path.cwd() / DEFAULT_SQLITE_FILE}")
    try:
        url = make_url(raw)
        url.port  # noqa: B018  (a non-numeric port raises here, not at connect time)
    except (ArgumentError, ValueError):
        # The raw value may hold a password, so the message names only the scheme.
        scheme = raw.split(":", 1)[0] if ":" in raw else "?"
        raise UserError(f"DATABASE_URL (scheme {scheme!r}) is not a database URL", USAGE) from None
    if url.drivername in POSTGRES_SCHEMES:
        return url.set(drivername="postgresql+psycopg")
    if url.drivername in SQLITE_SCHEMES:
        if not url.database or url.database == ":memory:":
            raise UserError("DATABASE_URL points at an in-memory SQLite database, which each "
                            "connection sees empty", f"name a file instead; {USAGE}")
        return url.set(database=str(Path(url.database).expanduser().resolve()))
    raise UserError(f"DATABASE_URL uses {url.drivername!r}, which faqbot does not support", USAGE)


def open_engine(url: URL) -> Engine:
    """An engine that reconnects by itself after the server restarts (``pool_pre_ping``)."""
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS,
                                       "application_name": "faqbot"})


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets several processes write one file; NORMAL sync survives a crash of faqbot
    (not of the machine) and keeps a commit well under a millisecond."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()
