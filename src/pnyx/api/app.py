"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

import pnyx
from pnyx.api.errors import install_error_handlers
from pnyx.api.routes import events, health, identity
from pnyx.services.context import ServiceContext
from pnyx.settings import Settings
from pnyx.store.db import Database
from pnyx.store.schema import migrate


def create_app(settings: Settings, ctx: ServiceContext | None = None) -> FastAPI:
    """Build the API + portal app. ``ctx`` may be injected (tests); else one is opened."""
    if ctx is None:
        db = Database(settings.database_url)
        migrate(db)
        ctx = ServiceContext(db=db)
    app = FastAPI(
        title="pnyx",
        version=pnyx.__version__,
        description="Operating software of a publicly governed AI supercomputing facility.",
    )
    app.state.ctx = ctx
    app.state.settings = settings
    install_error_handlers(app)
    for router in (health.router, identity.router, events.router):
        app.include_router(router)
    return app
