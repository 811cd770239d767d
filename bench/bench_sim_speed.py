"""Simulator speed at 100,000 accelerators: streamed jobs against a materialised job list.

    python bench/bench_sim_speed.py [--start 2017-11-13] [--end 2017-11-13T12:00] [--load 1.0]
                                    [--accelerators 100000] [--tick-s 60] [--policy pnyx]

Prints one JSON object. The same workload (philly.csv, the window rescaled to the offered
load) is simulated twice in this process with the same seed: first as ``pnyx sim run`` does it
(the engine streams submissions and builds each job's request at its submission), then with
the baseline of the earlier engine's input, every request built up front as one list. Both
runs must produce the same segments (checked). For each: wall and CPU seconds of building the
jobs (the list, or the lazy source) and the engine's run, jobs per second of each, and the
resident memory after the run (the list's requests stay alive while it runs). Also: the time
to load and rescale the trace, the metrics' time, the peak resident memory of the process and
the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from pnyx.sched import SchedulerState
from pnyx.sim.engine import Engine, EngineConfig
from pnyx.sim.metrics import SegmentTable, compute_metrics
from pnyx.sim.policies import policy_setup
from pnyx.sim.replay import (
    ReplayConfig,
    WorkloadJobs,
    peak_rss_mib,
    prepare,
    segment_table,
    sim_facility,
)
from pnyx.sim.trace import Workload

ROOT = Path(__file__).resolve().parents[1]


def rss_mib() -> float:
    """Resident memory now (Linux /proc)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def cpu_s() -> float:
    """User + system CPU seconds of this process."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(work: Workload, config: ReplayConfig, materialise: bool) -> tuple[dict[str, Any], Any]:
    """One simulation; its timings and segments."""
    setup = policy_setup(config.policy)
    state = SchedulerState(sim_facility(config.accelerators), setup.config)
    wall, cpu = time.perf_counter(), cpu_s()
    lazy = WorkloadJobs(work, config, setup.exact_limits)
    jobs = [lazy[j] for j in range(work.jobs)] if materialise else lazy
    engine = Engine(
        state,
        jobs,
        work.runtime_s,
        EngineConfig(tick_s=config.tick_s),
        work.submit_s,
        work.window_s,
    )
    segments = engine.run()
    wall, cpu = time.perf_counter() - wall, cpu_s() - cpu
    figures = {
        "engine_wall_s": round(wall, 2),
        "engine_cpu_s": round(cpu, 2),
        "jobs_per_s": round(work.jobs / wall),
        "jobs_per_cpu_s": round(work.jobs / cpu),
        "rss_after_mib": round(rss_mib()),
        "passes": engine.stats.passes,
    }
    return figures, segment_table(work, segments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, default=ROOT / "examples/traces/philly.csv")
    parser.add_argument("--accelerators", type=int, default=100_000)
    parser.add_argument("--start", default="2017-11-13")
    parser.add_argument("--end", default="2017-11-13T12:00")
    parser.add_argument("--load", type=float, default=1.0)
    parser.add_argument("--tick-s", type=float, default=60.0)
    parser.add_argument("--policy", default="pnyx")
    args = parser.parse_args()
    load_before = os.getloadavg()
    config = ReplayConfig(args.accelerators, args.policy, tick_s=args.tick_s)
    began = time.perf_counter()
    work = prepare(
        args.trace, datetime.fromisoformat(args.start), datetime.fromisoformat(args.end),
        args.load, config,
    )  # fmt: skip
    prepare_s = time.perf_counter() - began
    streamed, seg = run(work, config, materialise=False)
    began = time.perf_counter()
    shares = np.full(len(work.members), 1.0 / len(work.members))
    metrics = compute_metrics(seg, args.accelerators, work.window_s, shares, 0.0)
    metrics_s = time.perf_counter() - began
    materialised, seg2 = run(work, config, materialise=True)
    same = all(
        np.array_equal(getattr(seg, f), getattr(seg2, f)) for f in SegmentTable.__dataclass_fields__
    )
    print(
        json.dumps(
            {
                "settings": vars(args) | {"trace": str(args.trace)},
                "jobs": work.jobs,
                "offered_load": round(work.offered_load(args.accelerators), 4),
                "utilisation": round(metrics["utilisation"], 4),
                "prepare_s": round(prepare_s, 2),
                "metrics_s": round(metrics_s, 2),
                "streamed": streamed,
                "materialised_baseline": materialised,
                "cpu_ratio_baseline_over_streamed": round(
                    materialised["engine_cpu_s"] / streamed["engine_cpu_s"], 3
                ),
                "same_segments": same,
                "peak_rss_mib": round(peak_rss_mib()),
                "load_average": {"start": load_before, "end": os.getloadavg()},
                "machine": {
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "numpy": np.__version__,
                },
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
