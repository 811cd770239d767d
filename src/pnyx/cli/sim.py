"""pnyx sim: the scheduling core under synthetic load (bench), trace replay (run)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from pnyx.cli.common import JsonOpt, console, emit
from pnyx.errors import InvalidInputError
from pnyx.sim.bench import BenchConfig, run_bench
from pnyx.sim.replay import (
    ReplayConfig,
    enacted_shares,
    load_shares,
    prepare,
    replay_sampled,
    write_segments,
)
from pnyx.sim.report import build_report, write_report
from pnyx.web.sim import write_standalone

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


def _when(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as e:
        raise InvalidInputError(
            f"{flag}: expected an ISO date like 2017-10-02, got {value!r}"
        ) from e


@app.command("run")
def run(
    trace: Annotated[Path, typer.Option("--trace", help="Philly-format CSV (or .csv.gz)")],
    accelerators: Annotated[int, typer.Option("--accelerators", help="facility size (nodes of 8)")],
    policy: Annotated[str, typer.Option("--policy", help="pnyx | fifo | backfill | sjf | las")],
    start: Annotated[str | None, typer.Option("--start", help="window start (ISO)")] = None,
    end: Annotated[str | None, typer.Option("--end", help="window end (ISO, exclusive)")] = None,
    load: Annotated[
        float | None, typer.Option("--load", help="rescale the offered load to this")
    ] = None,
    shares: Annotated[
        Path | None, typer.Option("--shares", help="JSON {member: share}; default equal")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 0,
    jobs_out: Annotated[
        Path | None, typer.Option("--jobs-out", help="write the per-segment CSV here")
    ] = None,
    types: Annotated[int, typer.Option("--types", help="accelerator types (pods split)")] = 1,
    overestimate: Annotated[
        float, typer.Option("--overestimate", help="time limit = runtime x this")
    ] = 1.5,
    tick_s: Annotated[
        float, typer.Option("--tick-s", help="pass interval (0: after every event batch)")
    ] = 0.0,
    mtbf_h: Annotated[
        float, typer.Option("--mtbf-h", help="node mean time between failures (0: none)")
    ] = 0.0,
    release_passes: Annotated[
        bool,
        typer.Option(
            "--release-passes",
            help="with --tick-s: also a release pass whenever jobs end between two ticks",
        ),
    ] = False,
    report_out: Annotated[
        Path | None,
        typer.Option(
            "--report-out",
            help="write DIR/report.json (the portal's /sim page) and DIR/report.html",
        ),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Replay a trace window on a simulated facility under one policy; print the metrics."""
    config = ReplayConfig(
        accelerators=accelerators,
        policy=policy,
        seed=seed,
        types=types,
        overestimate=overestimate,
        tick_s=tick_s,
        mtbf_h=mtbf_h,
        release_passes=release_passes,
    )
    work = prepare(trace, _when(start, "--start"), _when(end, "--end"), load, config)
    given = load_shares(shares) if shares is not None else None
    done = replay_sampled(work, config, given)
    out, seg = done.out, done.seg
    if jobs_out is not None:
        write_segments(jobs_out, seg, work.members)
    if report_out is not None:
        shares_now = enacted_shares(work.members, given)
        doc = build_report(report_out.name, out, seg, work, accelerators, shares_now, done.samples)
        write_report(report_out, doc)
        write_standalone(report_out, doc)
    emit(out, json, _render_run)


def _render_run(out: dict[str, Any]) -> None:
    console.print(
        f"{out['policy']}: {out['jobs']} jobs on {out['accelerators']} accelerators, "
        f"utilisation {out['utilisation']:.1%}"
    )
    console.print(
        f"wait mean {out['wait_s']['mean']:.0f} s, p99 {out['wait_s']['p99']:.0f} s; "
        f"share deviation mean {out['share_deviation_pp']['mean']:.2f} pp, "
        f"max {out['share_deviation_pp']['max']:.2f} pp; Jain {out['jain_index']:.3f}"
    )
