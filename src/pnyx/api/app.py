"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

import pnyx
from pnyx.api.errors import install_error_handlers
from pnyx.api.routes import allocation, council, events, facility, health, identity, log
from pnyx.api.routes import datasets as datasets_api
from pnyx.api.routes import jobs as jobs_api
from pnyx.api.routes import models as models_api
from pnyx.api.routes import search as search_api
from pnyx.services.context import ServiceContext
from pnyx.services.setup import build_context
from pnyx.settings import Settings
from pnyx.web import allocation as allocation_web
from pnyx.web import council as council_web
from pnyx.web import datasets as datasets_web
from pnyx.web import jobs as jobs_web
from pnyx.web import models as models_web
from pnyx.web import record as record_web
from pnyx.web import routes as web
from pnyx.web import search as search_web
from pnyx.web import sim as sim_web
from pnyx.web import utilisation as utilisation_web


def create_app(settings: Settings, ctx: ServiceContext | None = None) -> FastAPI:
    """Build the API + portal app. ``ctx`` may be injected (tests); else one is opened."""
    if ctx is None:
        ctx = build_context(settings)
    app = FastAPI(
        title="pnyx",
        version=pnyx.__version__,
        description="Operating software of a publicly governed AI supercomputing facility.",
    )
    app.state.ctx = ctx
    app.state.settings = settings
    install_error_handlers(app, html_page=web.render_error)
    for router in (
        health.router,
        identity.router,
        events.router,
        log.router,
        facility.router,
        council.router,
        allocation.router,
        jobs_api.router,
        models_api.router,
        datasets_api.router,
        datasets_web.router,
        search_api.router,
        search_web.router,
        web.router,
        council_web.router,
        allocation_web.router,
        jobs_web.router,
        models_web.router,
        record_web.router,
        sim_web.router,
        utilisation_web.router,
    ):
        app.include_router(router)
    web.mount_static(app)
    return app
