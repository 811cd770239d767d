"""The broker's Fair-Tree order in the live dispatcher: the projects' decayed usage read from
every usage record on each pass (before) against the :class:`UsageBook` kept between passes.

    python bench/bench_dispatch_usage.py [--records 4000] [--new 20] [--queued 200]
                                         [--repeat 7] [--tmp /dev/shm]

On a fresh SQLite store (the demo's awards, the small example facility) ``--records`` usage
records (8 accelerators of an awarded type for 10 min each, ending over the last 30 days, over
the demo's projects) are recorded. Then, in the same process, medians of ``--repeat``:

- ``baseline_usage_ms``: :func:`pnyx.services.accounting.decayed_usage` (every usage record:
  what each pass read before); ``baseline_order_ms``: :func:`order_queued` of ``--queued``
  job rows with it;
- ``seed_ms``: a fresh :meth:`UsageBook.usage` (a restarted dispatcher, once);
- ``idle_ms``: a kept book when nothing was recorded since;
- ``incremental_ms``: a kept book after ``--new`` more records (reads only the log's seq
  range since the last pass); ``incremental_order_ms``: ``order_queued`` with it;
- ``agree``: the kept book and the full read give the same sums (relative 1e-9) and the same
  order.

Prints one JSON object; figures go to docs/benchmarks.md ("Dispatcher: the broker's
Fair-Tree usage").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench_dispatch import setup
from pnyx.domain.identity import Actor
from pnyx.sched.priority import PriorityWeights
from pnyx.services import accounting, awards
from pnyx.services.context import ServiceContext, format_time, utc_now
from pnyx.services.dispatch_order import order_queued
from pnyx.services.dispatch_usage import UsageBook

SYSTEM = Actor.system()
HALF_LIFE_DAYS = 7.0


class StepClock:
    """Now, then one millisecond per reading."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def record(ctx: ServiceContext, projects: list[tuple[str, str]], n: int, offset: int) -> None:
    """``n`` usage records of 8 accelerators x 10 min, ending over the last 30 days."""
    now = ctx.clock()
    for i in range(offset, offset + n):
        end = now - timedelta(seconds=(i * 7919) % (30 * 86_400))
        start = end - timedelta(minutes=10)
        project, kind = projects[i % len(projects)]
        accounting.record_usage(
            ctx, SYSTEM, project, kind, 8 * 600, format_time(start), format_time(end)
        )


def queued_rows(ctx: ServiceContext, n: int) -> list[dict[str, Any]]:
    """``n`` queued job rows of the demo's awards (what ``order_queued`` reads of a row)."""
    listed = awards.list_awards(ctx)
    now = ctx.clock()
    return [
        {
            "job_id": f"j-{i:06d}",
            "award_id": listed[i % len(listed)].award_id,
            "project_id": listed[i % len(listed)].project_id,
            "submitter": f"user-{i % 7}",
            "submitted_at": format_time(now - timedelta(seconds=i)),
            "submitted_seq": i,
            "nodes": 1,
            "accelerators_per_node": 1 + i % 8,
        }
        for i in range(n)
    ]


def timed_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def close(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-9) for k in a)


def bench(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        made = setup(Path(tmp))
        ctx = ServiceContext(db=made.db, log_signer=made.log_signer, clock=StepClock())
        projects = sorted({(a.project_id, min(a.hours)) for a in awards.list_awards(ctx)})
        start = time.perf_counter()
        record(ctx, projects, args.records, 0)
        build_s = time.perf_counter() - start
        rows = queued_rows(ctx, args.queued)
        weights = PriorityWeights()
        half_life_s = HALF_LIFE_DAYS * 86_400.0

        def full_usage() -> dict[str, float]:
            return accounting.decayed_usage(ctx, ctx.clock(), HALF_LIFE_DAYS)

        def order(usage: dict[str, float] | None = None) -> list[dict[str, Any]]:
            return order_queued(ctx, rows, ctx.clock(), weights, HALF_LIFE_DAYS, usage)

        base_usage = [timed_ms(full_usage) for _ in range(args.repeat)]
        base_order = [timed_ms(order) for _ in range(args.repeat)]
        seed = [
            timed_ms(lambda: UsageBook(half_life_s).usage(ctx, ctx.clock()))
            for _ in range(args.repeat)
        ]
        kept = UsageBook(half_life_s)
        kept.usage(ctx, ctx.clock())
        idle = [timed_ms(lambda: kept.usage(ctx, ctx.clock())) for _ in range(args.repeat)]
        step, step_order = [], []
        for r in range(args.repeat):
            record(ctx, projects, args.new, args.records + r * args.new)
            step.append(timed_ms(lambda: kept.usage(ctx, ctx.clock())))
            record(ctx, projects, args.new, args.records + (args.repeat + r) * args.new)
            step_order.append(timed_ms(lambda: order(kept.usage(ctx, ctx.clock()))))
        at = ctx.clock()
        mine, full = kept.usage(ctx, at), accounting.decayed_usage(ctx, at, HALF_LIFE_DAYS)
        same_order = [r["job_id"] for r in order_queued(ctx, rows, at, weights, 7.0, mine)] == [
            r["job_id"] for r in order_queued(ctx, rows, at, weights, 7.0, full)
        ]
        total = args.records + 2 * args.repeat * args.new
    med = statistics.median
    return {
        "usage_records": total,
        "new_per_pass": args.new,
        "queued": args.queued,
        "build_s": round(build_s, 1),
        "baseline_usage_ms": round(med(base_usage), 2),
        "baseline_order_ms": round(med(base_order), 2),
        "seed_ms": round(med(seed), 2),
        "idle_ms": round(med(idle), 2),
        "incremental_ms": round(med(step), 2),
        "incremental_order_ms": round(med(step_order), 2),
        "incremental_vs_baseline": round(med(step) / med(base_usage), 3),
        "order_vs_baseline": round(med(step_order) / med(base_order), 3),
        "agree": close(mine, full) and same_order,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--new", type=int, default=20)
    parser.add_argument("--queued", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--tmp", default=None, help="directory for the store (e.g. /dev/shm)")
    print(json.dumps(bench(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
