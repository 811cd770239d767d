"""The packaged Alembic migrations create exactly the schema the code's metadata describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pnyx.store.db import Database
from pnyx.store.tables import metadata


def test_migrations_match_metadata(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"schema drift: add a migration for {diff[:5]}"


def test_migrate_is_idempotent(db: Database) -> None:
    from pnyx.store.schema import migrate

    migrate(db)
    assert db.is_initialised()
