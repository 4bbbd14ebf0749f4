"""A claim is a lease until the reply went out: what a crash mid-reply must not lose."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text, update

from bot.storage import Store
from bot.storage import schema as storage_schema
from bot.storage.url import open_engine, parse_url


@pytest.fixture
def leased(database_url: str) -> Iterator[tuple[Store, Store, str]]:
    first = Store.from_url(database_url, lease_seconds=30)
    second = Store.from_url(database_url, lease_seconds=30)
    yield first, second, database_url
    first.close()
    second.close()


def age_claims(url: str, seconds: float) -> None:
    """Move every claim ``seconds`` into the past, as if that much time had gone by."""
    engine = open_engine(parse_url(url))
    claims = storage_schema.claims
    with engine.begin() as connection:
        connection.execute(update(claims).values(at=claims.c.at - timedelta(seconds=seconds)))
    engine.dispose()


def test_a_pending_claim_is_refused_within_its_lease(leased) -> None:
    first, second, _ = leased
    assert first.claim("T1", "C1", "1.1")
    assert not second.claim("T1", "C1", "1.1")


def test_a_claim_never_completed_is_taken_again_after_its_lease(leased) -> None:
    first, second, url = leased
    assert first.claim("T1", "C1", "1.2")  # ... and the process dies before replying
    age_claims(url, 31)
    assert second.claim("T1", "C1", "1.2")
    assert not Store.from_url(url).claim("T1", "C1", "1.2")  # taken: a fresh lease


def test_a_completed_claim_is_kept_for_good(leased) -> None:
    first, second, url = leased
    assert first.claim("T1", "C1", "1.3")
    first.complete("T1", "C1", "1.3")
    age_claims(url, 3600)
    assert not second.claim("T1", "C1", "1.3")


def test_a_version_1_database_gains_the_column_and_keeps_its_claims(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE faqbot_meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO faqbot_meta VALUES ('schema_version', '1');
            CREATE TABLE faqbot_claims (team VARCHAR NOT NULL, channel VARCHAR NOT NULL,
                ts VARCHAR NOT NULL, at DATETIME NOT NULL, PRIMARY KEY (team, channel, ts));
            INSERT INTO faqbot_claims VALUES ('T1', 'C1', '1.4', '2020-01-01 00:00:00');
        """)
    store = Store.from_url(f"sqlite:///{path}")
    assert not store.claim("T1", "C1", "1.4")  # replied to before the upgrade: still done
    assert store.claim("T1", "C1", "1.5")
    assert f"schema version {storage_schema.SCHEMA_VERSION}" in store.ping()
    store.close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        done = connection.execute(text("SELECT done FROM faqbot_claims WHERE ts = '1.4'"))
        assert done.scalar() in (1, True)
    engine.dispose()


def test_a_success_that_began_before_a_failure_is_no_recovery() -> None:
    """Two attempts overlap the moment the database goes away: one commits, one fails. The
    late success must not end the outage, or the next failure warns a second time."""
    import logging

    from bot.storage.outage import Outage

    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    log = logging.getLogger("test.outage")
    log.addHandler(Collect())
    log.setLevel(logging.INFO)
    outage = Outage(target="db", log=log, retry_interval=60)
    early = outage.attempt()
    outage.failed("server closed the connection")
    outage.succeeded(early)  # began before the failure
    assert not outage.should_try()  # still down: retried only after the interval
    outage.failed("connection refused")
    assert sum("cannot use the database" in r for r in records) == 1
    outage.succeeded(outage.attempt())
    assert any("is back" in r for r in records)


def test_a_key_with_a_nul_is_completed_as_it_was_stored(leased) -> None:
    """The claim is stored with its NUL dropped; completing it must find that same row (and
    never raise, as PostgreSQL would on the NUL)."""
    first, second, url = leased
    assert first.claim("T1", "C1", "1.\x007")
    first.complete("T1", "C1", "1.\x007")
    age_claims(url, 3600)
    assert not second.claim("T1", "C1", "1.\x007")
