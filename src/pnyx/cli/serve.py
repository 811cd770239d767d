"""pnyx up: serve the API, the portal and the background workers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from pnyx.cli.common import DataOpt, DbOpt, console
from pnyx.services.dispatch import dispatch_config
from pnyx.settings import DEFAULT_DATA_DIR, Backend, Settings
from pnyx.workers import checkpointer, dispatcher
from pnyx.workers import council as council_worker
from pnyx.workers.backends import build_backends


def up(
    data: DataOpt = None,
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    backend: Annotated[Backend, typer.Option(help="job backend")] = Backend.LOCAL,
) -> None:
    """Serve the API (/api/v1, /openapi.json), the portal (/) and the workers."""
    from pnyx.api.app import create_app

    settings = Settings(
        data_dir=data or Path(DEFAULT_DATA_DIR),
        db_url=db,
        host=host,
        port=port,
        backend=backend,
    )
    app = create_app(settings)
    backends = build_backends(app.state.ctx, settings)
    thread, stop = checkpointer.start(app.state.ctx, settings.checkpoint_every_s)
    council_thread, council_stop = council_worker.start(app.state.ctx)
    dispatch_thread, dispatch_stop = dispatcher.start(
        app.state.ctx,
        backends,
        settings.dispatch_every_s,
        dispatch_config(settings.placement, settings.preemption_judge),
        dataset_sites=settings.dataset_sites,
    )
    clusters = ", ".join(f"{name} ({backend.value})" for name in backends)
    console.print(
        f"pnyx serving on http://{host}:{port}/ (API docs at /docs); jobs run on {clusters}"
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()
        council_stop.set()
        dispatch_stop.set()
        thread.join(timeout=10)
        council_thread.join(timeout=10)
        dispatch_thread.join(timeout=10)
