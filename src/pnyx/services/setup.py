"""Build the service context from Settings: the one place the CLI and the API server do it."""

from __future__ import annotations

from pnyx.services.context import ServiceContext
from pnyx.services.logkey import load_log_signer
from pnyx.settings import Settings
from pnyx.store.db import Database
from pnyx.store.schema import migrate


def build_context(settings: Settings) -> ServiceContext:
    """Open and migrate the database and load (in development: create) the log's key."""
    signer = load_log_signer(
        settings.log_key_path, settings.log_origin, create=settings.mode == "development"
    )
    db = Database(settings.database_url)
    migrate(db)
    return ServiceContext(
        db=db, log_signer=signer, checkpoint_every_events=settings.checkpoint_every_events
    )
