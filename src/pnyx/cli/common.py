"""What every command shares: addressing a store (--data/--db/--url), output and errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console

from pnyx.domain.identity import Actor, Role
from pnyx.services import identity
from pnyx.services.context import ServiceContext
from pnyx.services.setup import build_context
from pnyx.settings import DEFAULT_DATA_DIR, Settings
from pnyx.store.db import url_for_data_dir

console = Console()
err_console = Console(stderr=True)

DataOpt = Annotated[
    Path | None, typer.Option("--data", help="data directory of the embedded store")
]
DbOpt = Annotated[
    str | None, typer.Option("--db", help="database URL, e.g. postgresql+psycopg://u@h/db")
]
UrlOpt = Annotated[str | None, typer.Option("--url", help="base URL of a running pnyx server")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
TokenOpt = Annotated[
    str | None, typer.Option("--token", envvar="PNYX_TOKEN", help="API token for --url")
]
AsOpt = Annotated[
    str | None, typer.Option("--as", help="act as this principal (local store; default: admin)")
]


def actor_for(ctx: ServiceContext, principal_id: str | None) -> Actor:
    """The administrator, or the named principal with its roles and member (``--as``)."""
    if principal_id is None:
        return Actor.system()
    p = identity.get_principal(ctx, principal_id)
    return Actor(p.principal_id, frozenset(Role(r) for r in p.roles), p.member_id)


def database_url(data: Path | None, db: str | None) -> str:
    """The database addressed by --data / --db (default: the embedded store in ./.pnyx)."""
    if data is not None and db is not None:
        raise typer.BadParameter("give either --data or --db, not both")
    return db or url_for_data_dir(data or DEFAULT_DATA_DIR)


def open_context(data: Path | None, db: str | None) -> ServiceContext:
    """A service context over the addressed store, migrated, with the log's signing key."""
    url = database_url(data, db)
    return build_context(Settings(data_dir=data or DEFAULT_DATA_DIR, db_url=url))


def to_jsonable(value: Any) -> Any:
    """Models, lists and dicts to plain JSON values."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def emit(value: Any, as_json: bool, render: Callable[[Any], None] | None = None) -> None:
    """Print ``value`` as JSON (``--json``) or with ``render`` (rich) for people."""
    if as_json or render is None:
        sys.stdout.write(json.dumps(to_jsonable(value), indent=2, sort_keys=True) + "\n")
    else:
        render(value)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line on stderr and exit non-zero."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
