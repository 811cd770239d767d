"""Shared fixtures: every store test runs against SQLite AND PostgreSQL.

PostgreSQL comes from deploy/postgres-test.sh (started by `make test` and .ci/run), which
exports PNYX_TEST_PG_URL. Each test gets its own schema, dropped afterwards. Set
PNYX_TEST_SQLITE_ONLY=1 for a quick local run without PostgreSQL (CI never sets it).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pnyx.ledger.note import generate_signer
from pnyx.services.context import ServiceContext
from pnyx.store.db import Database, url_for_data_dir
from pnyx.store.schema import migrate

BACKENDS = ["sqlite"] if os.environ.get("PNYX_TEST_SQLITE_ONLY") == "1" else ["sqlite", "postgres"]


def pg_url() -> str:
    url = os.environ.get("PNYX_TEST_PG_URL")
    if not url:
        pytest.fail(
            "PNYX_TEST_PG_URL is not set: run `make test` (starts PostgreSQL) or set "
            "PNYX_TEST_SQLITE_ONLY=1 for a SQLite-only run"
        )
    return url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database (unmigrated): a SQLite file or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield url_for_data_dir(tmp_path / "data")
        return
    base = pg_url()
    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated, empty database."""
    database = Database(db_url)
    migrate(database)
    yield database
    database.dispose()


class FakeClock:
    """A clock that advances one millisecond per reading, from a fixed start."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@pytest.fixture
def ctx(db: Database) -> ServiceContext:
    """A service context over the test database with a deterministic clock and a log key."""
    return ServiceContext(db=db, clock=FakeClock(), log_signer=generate_signer("pnyx.test/log"))
