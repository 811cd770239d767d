"""pnyx admin: operator maintenance commands."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pnyx.cli.common import JsonOpt, console, emit, fail
from pnyx.cli.source import Source, addressed
from pnyx.store.replay import check_replay, repair_projections

app = typer.Typer(help="Operator maintenance: replay, migrate.")


@app.command("replay")
@addressed(url=False, token=False)
def replay(
    src: Source,
    repair: Annotated[
        bool, typer.Option("--repair", help="rebuild the live projections when they differ")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Rebuild every projection from the events in a scratch schema and report differences."""
    ctx = src.ctx
    report = check_replay(ctx.db)
    out: dict[str, Any] = report.as_dict()
    if not report.ok and repair:
        out["repaired_events"] = repair_projections(ctx.db)
        out["ok_after_repair"] = check_replay(ctx.db).ok
    emit(out, json, _render)
    if not report.ok and not repair:
        fail(f"projections differ from the replayed events in {len(report.diffs)} table(s)")


def _render(out: dict[str, Any]) -> None:
    console.print(f"replayed {out['events']} events over {len(out['rows'])} projection tables")
    for d in out["diffs"]:
        console.print(
            f"[red]{d['table']}[/red]: {len(d['only_live'])} row(s) only live, "
            f"{len(d['only_replayed'])} only replayed; first: "
            f"{(d['only_live'] or d['only_replayed'])[0]}"
        )
    if out["ok"]:
        console.print("[green]replay == projections[/green]")


@app.command("migrate")
@addressed(url=False, token=False)
def migrate_cmd(src: Source, json: JsonOpt = False) -> None:
    """Create or upgrade the schema."""
    ctx = src.ctx
    emit(
        {"migrated": ctx.db.url.split("@")[-1]}, json, lambda _: console.print("schema is current")
    )
