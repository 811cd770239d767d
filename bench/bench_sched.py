"""Scheduler benchmark: `pnyx sim bench` figures plus a naive baseline in the same process.

    python bench/bench_sched.py [--accelerators 100000] [--pending 10000] [--running 30000]
                                [--baseline-pending 1000] [--passes 20] [--seed 0]

Prints one JSON object:

- ``pnyx``: the DESIGN §7 figures of :func:`pnyx.sim.bench.run_bench` at full size;
- ``same_size``: pnyx and a naive scheduler side by side on the same facility, the same
  running jobs and the same churn, with a smaller queue (``--baseline-pending``), and the
  ratios. The naive scheduler ranks by submission time and places each job first-fit by a
  Python scan over the nodes (acceptable type, certified level, CL-3/4 on idle nodes), with no
  capacity index, no topology, no reservations: what one writes without an index.
"""

from __future__ import annotations

import argparse
import heapq
import json
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pnyx.sched import Facility, JobRequest
from pnyx.sim.bench import Bench, BenchConfig, peak_rss_mib, run_bench


class NaiveScheduler:
    """First-fit over a Python list of nodes; FIFO; no index, topology or backfill."""

    def __init__(self, fac: Facility, free: list[int], owner: list[int]) -> None:
        self.total = fac.total.tolist()
        self.type = fac.type_code.tolist()
        self.level = fac.containment.tolist()
        self.free = list(free)
        self.owner = list(owner)
        self.pending: dict[int, JobRequest] = {}
        self.running: dict[int, list[tuple[int, int]]] = {}

    def usable(self, n: int, job: JobRequest, t: int) -> int:
        if self.type[n] != t or self.level[n] < job.containment:
            return 0
        owner = self.owner[n]
        if job.exclusive:
            idle = owner == -1 and self.free[n] == self.total[n]
            return self.free[n] if idle or owner == job.project else 0
        return self.free[n] if owner in (-1, job.project) else 0

    def place(self, job: JobRequest) -> list[tuple[int, int]] | None:
        for t in job.types:
            chosen, left = [], job.accelerators
            for n in range(len(self.free)):
                u = self.usable(n, job, t)
                take = job.per_node if job.per_node else min(u, left)
                if u >= take > 0:
                    chosen.append((n, take))
                    left -= take
                    if left == 0:
                        return chosen
        return None

    def schedule(self) -> list[int]:
        started = []
        for job in sorted(self.pending.values(), key=lambda j: (j.submit_s, j.job_id)):
            alloc = self.place(job)
            if alloc is None:
                continue
            for n, c in alloc:
                self.free[n] -= c
                if job.exclusive:
                    self.owner[n] = job.project
            del self.pending[job.job_id]
            self.running[job.job_id] = alloc
            started.append(job.job_id)
        return started

    def release(self, job_id: int) -> None:
        for n, c in self.running.pop(job_id):
            self.free[n] += c
            if self.free[n] == self.total[n]:
                self.owner[n] = -1


def timed_loop(step: Callable[[], tuple[float, float, int]], passes: int) -> dict[str, float]:
    """Run ``passes`` steps of (scheduler seconds, pass seconds, started)."""
    spent, started, pass_ms = 0.0, 0, []
    for _ in range(passes):
        s, p, n = step()
        spent += s
        started += n
        pass_ms.append(p * 1000.0)
    return {
        "decisions_per_s": started / spent if spent else 0.0,
        "pass_ms_p50": float(np.percentile(pass_ms, 50)),
        "pass_ms_p99": float(np.percentile(pass_ms, 99)),
        "started_per_pass": started / passes,
    }


def naive_step(
    bench: Bench, naive: NaiveScheduler, ends: list[tuple[float, int]]
) -> Callable[[], tuple[float, float, int]]:
    """The same churn as :meth:`Bench.step`, driving the naive scheduler."""
    cfg, clock = bench.cfg, {"now": 0.0}

    def step() -> tuple[float, float, int]:
        ended = [heapq.heappop(ends) for _ in range(min(cfg.churn, len(ends)))]
        clock["now"] = max([clock["now"]] + [e for e, _ in ended])
        fresh = bench.mix.batch(max(0, cfg.pending - len(naive.pending)), clock["now"])
        t0 = time.perf_counter()
        for _, job_id in ended:
            naive.release(job_id)
        for job in fresh:
            naive.pending[job.job_id] = job
        t1 = time.perf_counter()
        started = naive.schedule()
        t2 = time.perf_counter()
        for job_id in started:
            heapq.heappush(ends, (clock["now"] + bench.mix.runtime.pop(job_id), job_id))
        return t2 - t0, t2 - t1, len(started)

    return step


def same_size(args: argparse.Namespace) -> dict[str, Any]:
    """pnyx and the naive scheduler from the same filled facility, with the smaller queue."""
    cfg = BenchConfig(
        accelerators=args.accelerators,
        pending=args.baseline_pending,
        running=args.running,
        seed=args.seed,
        passes=args.baseline_passes,
        churn=args.churn,
    )
    ours = Bench(cfg)
    ours.fill()
    ix = ours.state.index
    free = [f + h for f, h in zip(ix.free, ix.held, strict=True)]
    naive = NaiveScheduler(ours.fac, free, list(ix.owner))
    naive.running = {
        job_id: run.allocation.pairs() for job_id, run in ours.state.running.jobs.items()
    }
    naive_ends = list(ours.ends)
    ours.top_up()
    ours.step()
    pnyx = timed_loop(lambda: _pnyx_step(ours), cfg.passes)
    base = timed_loop(naive_step(ours, naive, naive_ends), cfg.passes)
    return {
        "pending": cfg.pending,
        "pnyx": pnyx,
        "naive": base,
        "ratio_decisions_per_s": pnyx["decisions_per_s"] / max(base["decisions_per_s"], 1e-9),
        "ratio_pass_ms_p50": base["pass_ms_p50"] / pnyx["pass_ms_p50"],
    }


def _pnyx_step(bench: Bench) -> tuple[float, float, int]:
    spent, pass_s, started, _ = bench.step()
    return spent, pass_s, started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accelerators", type=int, default=100_000)
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--running", type=int, default=30_000)
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--churn", type=int, default=1_000)
    parser.add_argument("--baseline-pending", type=int, default=1_000)
    parser.add_argument("--baseline-passes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    full = run_bench(
        BenchConfig(
            accelerators=args.accelerators,
            pending=args.pending,
            running=args.running,
            seed=args.seed,
            passes=args.passes,
            churn=args.churn,
        )
    )
    out = {
        "pnyx": full,
        "same_size": same_size(args),
        "peak_rss_mib": peak_rss_mib(),
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "system": platform.platform(),
        },
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
