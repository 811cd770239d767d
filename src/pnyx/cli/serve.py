"""pnyx up: serve the API, the portal and the background workers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from pnyx.cli.common import DataOpt, DbOpt, console
from pnyx.errors import InvalidInputError
from pnyx.settings import DEFAULT_DATA_DIR, Backend, Settings
from pnyx.workers import checkpointer
from pnyx.workers import council as council_worker


def up(
    data: DataOpt = None,
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    backend: Annotated[Backend, typer.Option(help="job backend")] = Backend.LOCAL,
) -> None:
    """Serve the API (/api/v1, /openapi.json), the portal (/) and the workers."""
    from pnyx.api.app import create_app

    if backend is not Backend.LOCAL:
        # Jobs and their backends arrive with the backends issue; refuse rather than pretend.
        raise InvalidInputError(f"backend {backend.value!r} is not available yet: use local")
    settings = Settings(
        data_dir=data or Path(DEFAULT_DATA_DIR),
        db_url=db,
        host=host,
        port=port,
        backend=backend,
    )
    app = create_app(settings)
    thread, stop = checkpointer.start(app.state.ctx, settings.checkpoint_every_s)
    council_thread, council_stop = council_worker.start(app.state.ctx)
    console.print(f"pnyx serving on http://{host}:{port}/ (API docs at /docs)")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()
        council_stop.set()
        thread.join(timeout=10)
        council_thread.join(timeout=10)
