"""Simulator quality table: every policy on the same philly window, side by side, one process.

    python bench/bench_sim.py [--trace examples/traces/philly.csv] [--accelerators 304]
                              [--start 2017-11-13] [--end 2017-11-20] [--load X] [--seed 0]
                              [--policies pnyx,fifo,backfill,sjf,las]

Prints one JSON object: the command's settings, the machine, and per policy the DESIGN
section 8 figures (utilisation, mean / p99 wait, large-job wait, share deviation mean / max,
Jain's index, lost work %, preempted segments) plus the simulation speed (jobs/s, wall
seconds). Every policy replays the same workload with the same seed. Each policy's figures
also go to stderr as one JSON line as soon as it has run (long runs can be watched, and a cut
run keeps what it measured). For 100,000 accelerators, e.g.:

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

from pnyx.sim.policies import Policy
from pnyx.sim.replay import ReplayConfig, peak_rss_mib, prepare, replay

ROOT = Path(__file__).resolve().parents[1]


def row(out: dict[str, Any]) -> dict[str, Any]:
    """The figures of one policy for the table."""
    return {
        "utilisation": round(out["utilisation"], 4),
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
        "jobs_per_s": round(out["jobs_per_s"], 1),
        "wall_s": round(out["wall_s"], 2),
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
    parser.add_argument("--policies", default=",".join(p.value for p in Policy))
    args = parser.parse_args()
    start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
    base = ReplayConfig(args.accelerators, "pnyx", seed=args.seed, tick_s=args.tick_s)
    work = prepare(args.trace, start, end, args.load, base)
    table = {}
    for name in args.policies.split(","):
        config = ReplayConfig(args.accelerators, name, seed=args.seed, tick_s=args.tick_s)
        out, _ = replay(work, config)
        table[name] = row(out)
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
