"""pnyx ledger verify: recompute the tree, check every checkpoint, replay the public state."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pnyx.cli.common import DataOpt, DbOpt, JsonOpt, UrlOpt, console, database_url, emit, fail
from pnyx.errors import InvalidInputError, NotFoundError
from pnyx.ledger import note
from pnyx.services.logkey import parse_key_file
from pnyx.services.logsources import DbLogSource, HttpLogSource
from pnyx.services.verify import LogSource, verify_log
from pnyx.settings import DEFAULT_DATA_DIR, Settings
from pnyx.store.db import Database

KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="the log's verifier key NAME+KEYID+BASE64 (default: from the log's key file, "
        "or for --url what the server publishes)",
    ),
]
NoReplayOpt = Annotated[
    bool, typer.Option("--no-replay", help="check entries, tree and checkpoints only")
]


def verify(
    data: DataOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    no_replay: NoReplayOpt = False,
    json: JsonOpt = False,
) -> None:
    """Recompute every leaf and the tree, check every checkpoint's signature and consistency,
    replay the events and compare the public state; exit 0 only when all of that holds."""
    if url is not None and (data is not None or db is not None):
        raise typer.BadParameter("give one of --data, --db and --url")
    verifier = note.parse_verifier_key(key) if key else None
    if url is not None:
        http = HttpLogSource(url, verifier)
        try:
            _run(http, no_replay, json)
        finally:
            http.close()
        return
    database = _open(data, db)
    try:
        _run(DbLogSource(database, verifier or _stored_key(data, db)), no_replay, json)
    finally:
        database.dispose()


def _run(source: LogSource, no_replay: bool, json: bool) -> None:
    report = verify_log(source, replay=not no_replay)
    emit(report.as_dict(), json, _render)
    if not report.ok:
        fail(f"verification failed: {report.error}")


def _open(data: Path | None, db: str | None) -> Database:
    if data is not None and not data.is_dir():
        raise NotFoundError(f"data directory {data} does not exist")
    database = Database(database_url(data, db))
    if not database.is_initialised():
        database.dispose()
        raise NotFoundError(f"no pnyx log in {data or db}")
    return database


def _stored_key(data: Path | None, db: str | None) -> note.Verifier | None:
    """The public half of the log key file (PNYX_LOG_KEY_FILE, else DATA_DIR/log-key)."""
    settings = Settings(data_dir=data or DEFAULT_DATA_DIR, db_url=db)
    path = settings.log_key_path
    if not path.is_file():
        return None
    signer = parse_key_file(path)
    if signer.alg != note.ALG_ED25519:
        raise InvalidInputError(f"{path} does not hold a note signing key (type 0x01)")
    return signer.verifier


def _render(out: dict[str, Any]) -> None:
    if not out["ok"]:
        return  # the one error line follows on stderr
    views = ", ".join(out["replayed_views"]) or "none (--no-replay)"
    console.print(
        f"[green]ok[/green]: {out['entries']} entries, {out['checkpoints']} checkpoints, "
        f"root {out['root_hash']}; replayed views: {views} ({out['wall_s']} s)",
        highlight=False,
    )
