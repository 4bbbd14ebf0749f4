"""A real PostgreSQL for the store tests: $FAQBOT_TEST_POSTGRES_URL when CI set one up, else a
throwaway cluster started with .ci/postgres.sh when the server binaries are installed.

Each test gets its own database, so tests never see each other's rows.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import make_url

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "postgres.sh"
URL_VAR, DATA_VAR = "FAQBOT_TEST_POSTGRES_URL", "FAQBOT_TEST_POSTGRES_DATA"


def _have_binaries() -> bool:
    return bool(shutil.which("initdb") or glob.glob("/usr/lib/postgresql/*/bin/initdb"))


@dataclass
class PgServer:
    url: str
    data: str | None  # the cluster directory, when we may stop and start it

    def _admin(self):
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    def new_database(self) -> str:
        name = f"faqbot_test_{uuid.uuid4().hex[:12]}"
        with self._admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def run(self, command: str) -> None:
        """``stop`` or ``start`` the cluster (pg_ctl -w: returns once it's down or ready)."""
        if self.data is None:
            pytest.skip(f"{URL_VAR} is set without {DATA_VAR}, so the server can't be restarted")
        subprocess.run(["bash", str(SCRIPT), command], check=True, capture_output=True,
                       env={**os.environ, DATA_VAR: self.data}, timeout=60)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    if os.environ.get(URL_VAR):
        yield PgServer(os.environ[URL_VAR], os.environ.get(DATA_VAR))
        return
    if not _have_binaries():
        pytest.skip(f"PostgreSQL is not installed (no initdb); run `eval \"$(bash {SCRIPT})\"` "
                    f"or set {URL_VAR}")
    env = {k: v for k, v in os.environ.items() if k != DATA_VAR}
    out = subprocess.run(["bash", str(SCRIPT), "--no-install"], check=True, capture_output=True,
                         text=True, env=env, timeout=120).stdout
    exports = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
    server = PgServer(exports[URL_VAR], exports[DATA_VAR])
    try:
        yield server
    finally:
        subprocess.run(["bash", str(SCRIPT), "destroy"], capture_output=True, timeout=60,
                       env={**os.environ, DATA_VAR: exports[DATA_VAR]})
