"""pnyx facility: load the facility file, show the inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pnyx.cli.common import JsonOpt, console, emit
from pnyx.cli.source import Source, addressed
from pnyx.services import inventory as svc
from pnyx.services.inventory_dto import ClusterSummary, FacilitySummary, LoadResult

app = typer.Typer(help="The facility inventory: sites, clusters, pods, nodes.")

FileArg = Annotated[Path, typer.Argument(help="facility file, YAML (or JSON by its .json suffix)")]


@app.command("load")
@addressed()
def load(file: FileArg, src: Source, json: JsonOpt = False) -> None:
    """Declare the facility described in FILE; only what changed is recorded."""
    spec = svc.parse_facility_file(file)
    result = src.write(
        "/api/v1/facility", spec, lambda c, a: svc.load_facility(c, a, spec), model=LoadResult
    )
    emit(result, json, _print_load)


@app.command("show")
@addressed()
def show(src: Source, json: JsonOpt = False) -> None:
    """The inventory by site and cluster, with accelerators per type."""
    summary = src.read(
        "/api/v1/facility", lambda c, _: svc.facility_summary(c), model=FacilitySummary
    )
    emit(summary, json, _print_summary)


def _print_load(r: LoadResult) -> None:
    if r.events == 0:
        console.print("no changes: the facility already matches the file")
    for what in r.declared:
        console.print(f"declared {what}")
    for what in r.retired:
        console.print(f"retired {what}")
    console.print(
        f"{r.events} event(s) recorded; facility: {r.sites} sites, {r.clusters} clusters, "
        f"{r.pods:,} pods, {r.nodes:,} nodes, {r.accelerators:,} accelerators"
    )
    for warning in r.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


def _print_summary(s: FacilitySummary) -> None:
    table = Table("site", "cluster", "CL", "pods", "nodes", "type", "accelerators")
    for site in s.sites:
        for c in site.clusters:
            first = [site.site_id, c.cluster_id, _level(c)]
            first += [f"{c.pods:,}", f"{c.nodes:,}"]
            for i, (kind, count) in enumerate(c.by_type.items()):
                table.add_row(*(first if i == 0 else [""] * 5), kind, f"{count:,}")
    for i, (kind, count) in enumerate(s.by_type.items()):
        head = ["total", f"{s.clusters_count} clusters", "", f"{s.pods:,}", f"{s.nodes:,}"]
        table.add_row(*(head if i == 0 else [""] * 5), kind, f"{count:,}", style="bold")
    table.add_row("", "", "", "", "", "all", f"{s.accelerators:,}", style="bold")
    console.print(table)
    parts = [(c, p) for site in s.sites for c in site.clusters for p in c.partitions]
    if parts:
        ptable = Table("cluster", "partition", "CL", "certificate expires", "nodes", "accelerators")
        for c, p in parts:
            expires = p.certificate_expires or "-"
            ptable.add_row(
                c.cluster_id, p.name, p.containment, expires, f"{p.nodes:,}", f"{p.accelerators:,}"
            )
        console.print(ptable)


def _level(c: ClusterSummary) -> str:
    return c.containment + (" separate" if c.physically_separate else "")
