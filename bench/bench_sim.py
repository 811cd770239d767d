"""Simulator quality table: every policy on the same philly window, side by side, one process.

    python bench/bench_sim.py [--trace examples/traces/philly.csv] [--accelerators 304]
                              [--start 2017-11-13] [--end 2017-11-20] [--load X] [--seed 0]
                              [--policies pnyx,fifo,backfill,sjf,las] [--member-days]
                              [--idle-days] [--tick-s S [--release-passes]]

Prints one JSON object: the command's settings, the machine, and per policy the DESIGN
section 8 figures (utilisation, mean / p99 wait, large-job wait, share deviation mean / max,
Jain's index, lost work %, preempted segments) plus the simulation speed (jobs/s, wall
seconds). Every policy replays the same workload with the same seed. Each policy's figures
also go to stderr as one JSON line as soon as it has run (long runs can be watched, and a cut
run keeps what it measured). ``--member-days`` adds, per policy, each day's utilisation and
each member-day's signed deviation (entitled - delivered, pp; null where the member had no
job waiting, so the day does not count): the evidence behind the mean and the max.
``--idle-days`` adds, per policy and day, the mean idle accelerators and how many of them were
released by a segment's end and still waited for the next pass (``--tick-s``): the evidence
behind a utilisation gap (docs/benchmarks.md, "Where pnyx's idle accelerators are"). For
100,000 accelerators, e.g.:

    python bench/bench_sim.py --accelerators 100000 --load 2.5 --start 2017-11-15 \
        --end 2017-11-16 --tick-s 60
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from pnyx.sched.priority import water_fill
from pnyx.sim.metrics import SegmentTable, bucket_bounds, per_bucket, waiting_days
from pnyx.sim.policies import Policy
from pnyx.sim.replay import ReplayConfig, enacted_shares, peak_rss_mib, prepare, replay
from pnyx.sim.trace import Workload

ROOT = Path(__file__).resolve().parents[1]


def row(out: dict[str, Any]) -> dict[str, Any]:
    """The figures of one policy for the table."""
    return {
        "utilisation": round(out["utilisation"], 6),
        "wait_mean_s": round(out["wait_s"]["mean"], 1),
        "wait_p99_s": round(out["wait_s"]["p99"], 1),
        "large_jobs_wait_mean_s": round(out["large_jobs_wait_s"]["mean"], 1),
        "large_jobs": out["large_jobs_wait_s"]["count"],
        "share_deviation_mean_pp": round(out["share_deviation_pp"]["mean"], 3),
        "share_deviation_max_pp": round(out["share_deviation_pp"]["max"], 3),
        "jain_index": round(out["jain_index"], 4),
        "lost_work_pct": round(out["lost_work_pct"], 4),
        "preempted_segments": out["preempted_segments"],
        "bounded_slowdown_mean": round(out["bounded_slowdown"]["mean"], 2),
        "passes": out["passes"],
        "release_passes": out["release_passes"],
        "jobs_per_s": round(out["jobs_per_s"], 1),
        "wall_s": round(out["wall_s"], 2),
    }


def member_days(work: Workload, seg: SegmentTable, capacity: int) -> dict[str, Any]:
    """Per day the utilisation (%) and per member-day entitled - delivered (pp, DESIGN section
    8, signed; None where the member-day does not count)."""
    shares = enacted_shares(work.members, None)
    n, bounds = shares.size, bucket_bounds(work.window_s)
    order = np.lexsort((seg.start_s, seg.job))
    first = np.concatenate([[True], seg.job[order][1:] != seg.job[order][:-1]])
    final_end = np.maximum.reduceat(seg.end_s[order], np.flatnonzero(first))
    rows = order[first]
    acc = seg.accelerators.astype(float)
    demand = per_bucket(seg.member[rows], acc[rows], seg.submit_s[rows], final_end, bounds, n)
    delivered = per_bucket(seg.member, acc, seg.start_s, seg.end_s, bounds, n)
    room = capacity * np.diff(bounds)
    entitled = np.stack(
        [water_fill(room[d], demand[:, d], shares) for d in range(room.size)], axis=1
    )
    counted = waiting_days(seg, bounds, n)
    deviation = (entitled - delivered) / room * 100.0
    return {
        "day_utilisation_pct": [round(float(x), 2) for x in delivered.sum(0) / room * 100.0],
        "day_demand_pct": [round(float(x), 1) for x in demand.sum(0) / room * 100.0],
        "deviation_pp": {
            m: [
                round(float(deviation[i, d]), 3) if counted[i, d] else None
                for d in range(room.size)
            ]
            for i, m in enumerate(work.members)
        },
    }


def idle_days(seg: SegmentTable, capacity: int, window_s: float, tick_s: float) -> dict[str, Any]:
    """Per day of the window: mean idle accelerators, split by whether a pass had seen them.

    ``idle`` = capacity - accelerators running, averaged over the day. ``awaiting_pass``: of
    those, accelerators a segment's end released and no pass has offered to the queue yet: with
    a tick T the engine's next pass after a release is at the next multiple of T, so a segment
    of k accelerators ending at e leaves k idle for ceil(e / T) x T - e (none without a tick,
    or with ``--release-passes``: a pass follows every batch of events, or every end).
    ``after_pass`` = the rest: free once a pass had seen them (reservation holds, fragments no
    pending job fits, nothing pending, and the time before the first pass). ``ended`` =
    accelerators of the segments completed in the day, what ``awaiting_pass`` grows with (about
    T / 2 seconds each).
    """
    bounds = bucket_bounds(window_s)
    span = np.diff(bounds)
    one = np.zeros(seg.job.size, dtype=np.int64)
    acc = seg.accelerators.astype(np.float64)
    busy = per_bucket(one, acc, seg.start_s, seg.end_s, bounds, 1)[0]
    idle = capacity * span - busy
    if tick_s > 0:
        next_pass = np.ceil(seg.end_s / tick_s) * tick_s
        awaiting = per_bucket(one, acc, seg.end_s, next_pass, bounds, 1)[0]
    else:
        awaiting = np.zeros(span.size)
    done = seg.outcome == 0
    day = np.searchsorted(bounds, seg.end_s[done], side="right") - 1
    inside = day < span.size
    ended = np.bincount(day[inside], weights=acc[done][inside], minlength=span.size)

    def mean(x: Any) -> list[float]:
        return [round(float(v), 2) for v in x / span]

    return {
        "idle": mean(idle),
        "awaiting_pass": mean(awaiting),
        "after_pass": mean(idle - awaiting),
        "ended": [int(v) for v in ended],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, default=ROOT / "examples/traces/philly.csv")
    parser.add_argument("--accelerators", type=int, default=304)
    parser.add_argument("--start", default="2017-11-13")
    parser.add_argument("--end", default="2017-11-20")
    parser.add_argument("--load", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tick-s", type=float, default=0.0)
    parser.add_argument("--release-passes", action="store_true")
    parser.add_argument("--policies", default=",".join(p.value for p in Policy))
    parser.add_argument("--member-days", action="store_true")
    parser.add_argument("--idle-days", action="store_true")
    args = parser.parse_args()
    start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
    knobs = {"seed": args.seed, "tick_s": args.tick_s, "release_passes": args.release_passes}
    base = ReplayConfig(args.accelerators, "pnyx", **knobs)
    work = prepare(args.trace, start, end, args.load, base)
    table = {}
    for name in args.policies.split(","):
        config = ReplayConfig(args.accelerators, name, **knobs)
        out, seg = replay(work, config)
        table[name] = row(out)
        if args.member_days:
            table[name]["member_days"] = member_days(work, seg, args.accelerators)
        if args.idle_days:
            tick = 0.0 if args.release_passes else args.tick_s  # every end is offered at once
            table[name]["idle_days"] = idle_days(seg, args.accelerators, work.window_s, tick)
        print(json.dumps({name: table[name]}), file=sys.stderr, flush=True)
    print(
        json.dumps(
            {
                "trace": args.trace.name,
                "window": [args.start, args.end],
                "accelerators": args.accelerators,
                "jobs": work.jobs,
                "offered_load": round(work.offered_load(args.accelerators), 4),
                "seed": args.seed,
                "policies": table,
                "peak_rss_mib": round(peak_rss_mib(), 1),
                "machine": f"{platform.machine()}, {platform.python_implementation()} "
                f"{platform.python_version()}, {platform.system()}",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
