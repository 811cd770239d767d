"""pnyx sim: the scheduling core under synthetic load (bench); trace replay comes later."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pnyx.cli.common import JsonOpt, console, emit
from pnyx.sim.bench import BenchConfig, run_bench

app = typer.Typer(help="Simulator: benchmark the scheduling core, replay traces.")


@app.command("bench")
def bench(
    accelerators: Annotated[
        int, typer.Option("--accelerators", help="facility size (nodes of 8)")
    ] = 100_000,
    pending: Annotated[int, typer.Option("--pending", help="jobs kept queued")] = 10_000,
    running: Annotated[int, typer.Option("--running", help="jobs started before timing")] = 30_000,
    seed: Annotated[int, typer.Option("--seed", help="random seed of the job mix")] = 0,
    passes: Annotated[int, typer.Option("--passes", help="timed scheduling passes")] = 20,
    churn: Annotated[int, typer.Option("--churn", help="jobs ending between passes")] = 1_000,
    reservations: Annotated[
        int, typer.Option("--reservations", help="backfill reservations (1 = EASY)")
    ] = 1,
    json: JsonOpt = False,
) -> None:
    """Time full scheduling passes over a synthetic facility and queue (see docs/benchmarks.md)."""
    config = BenchConfig(
        accelerators=accelerators,
        pending=pending,
        running=running,
        seed=seed,
        passes=passes,
        churn=churn,
        reservations=reservations,
    )
    emit(run_bench(config), json, _render)


def _render(out: dict[str, Any]) -> None:
    console.print(
        f"{out['accelerators']} accelerators, {out['running']} running, {out['pending']} pending"
    )
    console.print(
        f"pass p50 {out['pass_ms']['p50']:.1f} ms, p99 {out['pass_ms']['p99']:.1f} ms; "
        f"{out['decisions_per_s']:.0f} jobs started/s; peak RSS {out['peak_rss_mib']:.0f} MiB"
    )
