"""pnyx demo: build a demo facility end to end on the embedded default."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from pnyx.cli.common import DataOpt, JsonOpt, emit, open_context
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.services import checkpoints, identity
from pnyx.services.context import ServiceContext
from pnyx.services.demo_allocation import run_allocation_demo
from pnyx.services.demo_council import run_council_demo
from pnyx.services.demo_jobs import run_jobs_demo
from pnyx.services.demo_training import run_training_demo
from pnyx.services.logsources import DbLogSource
from pnyx.services.verify import verify_log
from pnyx.settings import Backend, Settings
from pnyx.store.replay import check_replay
from pnyx.workers.backends import build_backends

console = Console(soft_wrap=True)  # long lines (paths, commands) stay whole when piped

SYSTEM = Actor.system()
MEMBERS = {"de": "Germany", "fr": "France", "it": "Italy", "es": "Spain", "pl": "Poland"}
PEOPLE = [
    ("ops", "Facility operations", {Role.OPERATOR}, None),
    ("safety", "Safety office", {Role.SAFETY_OFFICER}, None),
    ("de-delegate", "Delegate of Germany", {Role.DELEGATE}, "de"),
    ("fr-delegate", "Delegate of France", {Role.DELEGATE}, "fr"),
    ("ada", "Ada Researcher", {Role.RESEARCHER}, None),
    ("rita", "Rita Reviewer", {Role.REVIEWER}, None),
    ("smallco", "SmallCo GmbH", {Role.TENANT}, None),
]


def demo(
    data: DataOpt = None,
    backend: Annotated[Backend, typer.Option(help="where the demo jobs run")] = Backend.LOCAL,
    json: JsonOpt = False,
) -> None:
    """Build a demo facility end to end, then replay, sign and verify its ledger.

    Members, people, Council votes, a call with awards, the 100k-accelerator inventory, and a
    few jobs that really run (on this host, or with --backend slurm on the Slurm cluster).
    """
    started = time.perf_counter()
    data_dir = data or Path(".pnyx-demo")
    ctx = open_context(data_dir, None)
    summary: dict[str, Any] = {"data_dir": str(data_dir)}
    _admit_members(ctx)
    summary["principals"] = _create_people(ctx)
    summary["council"] = run_council_demo(ctx)
    summary["members"] = identity.list_members(ctx, 0, 500).total
    summary["allocation"] = run_allocation_demo(ctx)
    summary.update(_load_inventory(ctx))
    settings = Settings(data_dir=data_dir, backend=backend)
    summary["jobs"] = run_jobs_demo(ctx, build_backends(ctx, settings), backend.value)
    summary["model"] = run_training_demo(
        ctx, build_backends(ctx, settings), data_dir, progress=None if json else _progress
    )
    report = check_replay(ctx.db)
    summary["replay_ok"] = report.ok
    summary["events"] = report.events
    summary["ledger"] = _sign_and_verify(ctx)
    summary["wall_s"] = round(time.perf_counter() - started, 2)
    summary["serve"] = f"pnyx up --data {data_dir}"
    emit(summary, json, _render)


def _admit_members(ctx: ServiceContext) -> None:
    existing = {m.member_id for m in identity.list_members(ctx, 0, 500).items}
    for member_id, name in MEMBERS.items():
        if member_id not in existing:
            identity.admit_member(ctx, SYSTEM, member_id, name)


def _create_people(ctx: ServiceContext) -> int:
    existing = {p.principal_id for p in identity.list_principals(ctx, SYSTEM, 0, 500).items}
    for pid, name, roles, member in PEOPLE:
        if pid not in existing:
            identity.create_principal(
                ctx, SYSTEM, NewPrincipal(pid, name, frozenset(roles), member)
            )
    return len(PEOPLE)


def _sign_and_verify(ctx: ServiceContext) -> dict[str, Any]:
    """Sign a checkpoint of the whole demo log, then verify it as an outsider would."""
    checkpoint, _ = checkpoints.issue_checkpoint(ctx, SYSTEM)
    verifier = ctx.log_signer.verifier if ctx.log_signer else None
    result = verify_log(DbLogSource(ctx.db, verifier))
    return {
        "checkpoint_size": checkpoint.size,
        "root_hash": checkpoint.root_hash,
        "verify_ok": result.ok,
        "verify_error": result.error,
        "replayed_views": result.replayed_views,
    }


def _load_inventory(ctx: ServiceContext) -> dict[str, Any]:
    from pnyx.services import inventory

    spec = inventory.parse_facility_file(_example("facility-100k.yaml"))
    result = inventory.load_facility(ctx, SYSTEM, spec)
    facility = inventory.facility_summary(ctx)
    return {
        "inventory_events": result.events,
        "sites": facility.sites_count,
        "clusters": facility.clusters_count,
        "nodes": facility.nodes,
        "accelerators": facility.accelerators,
        "accelerators_by_type": facility.by_type,
    }


def _example(name: str) -> Path:
    """An example file shipped with the source tree or the installed package."""
    for base in (Path(__file__).parents[3] / "examples", Path.cwd() / "examples"):
        if (base / name).is_file():
            return base / name
    raise FileNotFoundError(f"example {name} not found (looked in ./examples)")


def _render(s: dict[str, Any]) -> None:
    console.print(f"[bold]pnyx demo[/bold] — data in {s['data_dir']}")
    console.print(f"  members: {s['members']}, principals: {s['principals']}")
    console.print(
        f"  facility: {s['sites']} sites, {s['clusters']} clusters, {s['nodes']} nodes, "
        f"{s['accelerators']} accelerators {s['accelerators_by_type']}"
    )
    for r in s["council"]["resolutions"]:
        console.print(f"  council: {r['id']} {r['status']} ({r['decided_by']}): {r['title']}")
    alloc = s["allocation"]
    console.print(
        f"  allocation: call {alloc['call']}: {alloc['proposals']} proposals, "
        f"{alloc['reviews']} reviews, {len(alloc['awards'])} awards"
    )
    runs = s["jobs"]
    console.print(f"  jobs on {', '.join(runs['clusters'])} ({runs['backend']} backend):")
    for j in runs["jobs"]:
        code = "" if j["exit_code"] is None else f", exit code {j['exit_code']}"
        console.print(f"    {j['job_id']} {j['name']}: {j['state']}{code} on {j['cluster']}")
    _render_model(s["model"])
    ok = "[green]ok[/green]" if s["replay_ok"] else "[red]DIFFERS[/red]"
    console.print(f"  ledger: {s['events']} events; replay == projections: {ok}")
    led = s["ledger"]
    verified = "[green]ok[/green]" if led["verify_ok"] else f"[red]{led['verify_error']}[/red]"
    console.print(
        f"  checkpoint signed at size {led['checkpoint_size']} (root {led['root_hash']}); "
        f"ledger verify: {verified}"
    )
    console.print(
        f"  done in {s['wall_s']} s. Serve it: {s['serve']}  then open http://127.0.0.1:8000/"
    )


def _progress(message: str) -> None:
    console.print(f"  [dim]{message}[/dim]")


def _render_model(m: dict[str, Any]) -> None:
    console.print(
        f"  model: {m['model']} ({m['params']:,} parameters), run {m['run']} (job {m['job']}) "
        f"on {', '.join(m['datasets'])}, award {m['award']}"
    )
    console.print(
        f"    held-out perplexity {m['perplexity']}, multiple-choice accuracy {m['mc_acc']}, "
        f"released: {m['released']}"
    )
    console.print(f"    download: {m['download']}")
    console.print(f"    load:     {m['load']}")
