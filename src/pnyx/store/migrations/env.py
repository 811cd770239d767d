"""Alembic environment: runs on the connection pnyx hands in (see pnyx.store.schema)."""

from __future__ import annotations

from alembic import context

from pnyx.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run pnyx migrations through pnyx.store.schema.migrate")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
