"""Create or migrate the schema. Importing this module registers every table."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from pnyx.store import (
    tables,  # noqa: F401  (more table modules are imported here as they come)
    tables_allocation,  # noqa: F401
    tables_council,  # noqa: F401
    tables_datasets,  # noqa: F401
    tables_inventory,  # noqa: F401
    tables_jobs,  # noqa: F401
    tables_ledger,  # noqa: F401
    tables_models,  # noqa: F401
    tables_search,  # noqa: F401
)
from pnyx.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(conn: Connection | None = None) -> Config:
    """An Alembic config that runs the packaged migrations on ``conn``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def migrate(db: Database) -> None:
    """Bring the schema to the newest migration (creates it on an empty database)."""
    with db.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "heads")  # every helper branch off 0005
