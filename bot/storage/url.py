"""DATABASE_URL → a SQLAlchemy engine, with the password kept out of every message.

SQLite is the default: a file in the per-user data directory (the platform's convention, from
platformdirs), so every command opens the same file whichever folder it runs in. PostgreSQL
goes through psycopg 3, whatever spelling of the scheme the platform hands us (Heroku says
``postgres://``). On Heroku SQLite is refused: a dyno's disk is wiped on every restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError

from bot.errors import UserError

if TYPE_CHECKING:
    from bot.config import Settings

APP_NAME = "faqbot"
DEFAULT_SQLITE_FILE = "faqbot.sqlite3"
POSTGRES_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg")
SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
# A claim sits in front of every reply, so waiting for a dead server must stay short.
CONNECT_TIMEOUT_SECONDS = 3
# Writers in other processes hold SQLite's lock for well under a millisecond per insert.
SQLITE_BUSY_TIMEOUT_MS = 5000
USAGE = "set DATABASE_URL to sqlite:///path/to/file.sqlite3 or postgresql://user:pass@host/db"
HEROKU_FIX = ("add the PostgreSQL add-on (heroku addons:create heroku-postgresql), which sets "
              "DATABASE_URL, or set DATABASE_URL to a postgresql:// URL")


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


def default_database_file() -> Path:
    """Where the database lives when DATABASE_URL is unset: the per-user data directory
    (~/.local/share/faqbot on Linux, ~/Library/Application Support/faqbot on macOS,
    %LOCALAPPDATA%\\faqbot on Windows)."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False) / DEFAULT_SQLITE_FILE


def parse_url(raw: str | None) -> URL:
    """Normalise DATABASE_URL; unset means the default file in the per-user data directory."""
    raw = (raw or "").strip()
    if not raw:
        return make_url(f"sqlite:///{default_database_file()}")
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


def describe_database(raw: str | None) -> str:
    """The database in use, as ``faqbot check`` and ``-v`` show it: redacted, and saying
    when it is the default."""
    shown = redact(parse_url(raw))
    return shown if (raw or "").strip() else f"{shown} (DATABASE_URL unset: the default)"


def earlier_default(raw: str | None, folder: Path) -> Path | None:
    """``faqbot.sqlite3`` in ``folder`` when DATABASE_URL is unset: the file faqbot used by
    default before the per-user data directory, which now goes unread unless named."""
    old = folder / DEFAULT_SQLITE_FILE
    if (raw or "").strip() or not old.is_file():
        return None
    return None if old.resolve() == default_database_file().resolve() else old.resolve()


def earlier_default_warning(old: Path) -> str:
    return (f"{old} is where faqbot kept its database before; it now uses "
            f"{default_database_file()}. To keep using the old one (its FAQ edits, log and "
            f"learned phrasings), set DATABASE_URL=sqlite:///{old}")


def refuse_sqlite_on_heroku(raw: str | None, on_heroku: bool) -> None:
    """A dyno's disk is wiped on every restart (at least daily): FAQ edits, learned phrasings
    and the log would vanish without a word."""
    if on_heroku and parse_url(raw).get_backend_name() == "sqlite":
        raise UserError("faqbot is on Heroku (DYNO is set) with a SQLite database, which "
                        "Heroku's disk loses on every restart", HEROKU_FIX)


def vet_choice(settings: Settings) -> str | None:
    """Before a command opens the configured database: SQLite on Heroku is a ``UserError``;
    a database an older faqbot left in the working folder is a warning, returned."""
    refuse_sqlite_on_heroku(settings.database_url, settings.on_heroku)
    old = earlier_default(settings.database_url, Path.cwd())
    return None if old is None else earlier_default_warning(old)


def open_engine(url: URL) -> Engine:
    """An engine that reconnects by itself after the server restarts (``pool_pre_ping``)."""
    if url.get_backend_name() == "sqlite":
        if url.database == str(default_database_file()):  # a fresh machine has no such folder
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
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
