"""The entitlement judge's state in the live dispatcher: the cost of rebuilding it from the
store (a restart) against bringing it forward pass by pass, and against the read every pass
made before (all usage records, for the projects' decayed usage).

    python bench/bench_dispatch_entitlement.py [--ended 2000] [--new 20] [--repeat 7]
                                               [--tmp /dev/shm]

On a fresh SQLite store (the demo's awards, the small example facility) ``--ended``
single-accelerator h100 jobs of two members run 30 s on a fake engine and end, through the
dispatcher (``placement="engine"``: each job's submission, placement, start, usage record and
end are on the record). Then, in the same process:

- ``seed_ms``: :meth:`EntitlementBook.refresh` of a fresh book (what a restarted dispatcher
  does once: jobs and usage records that ended within the horizon), median of ``--repeat``;
- ``idle_ms``: ``refresh`` of a kept book when nothing happened since (one max(seq) read);
- ``incremental_ms``: ``refresh`` of a kept book after ``--new`` more jobs ended (reads only
  the log's seq range since the last pass), one measurement per round;
- ``baseline_ms``: :func:`pnyx.services.accounting.decayed_usage`, the read of every usage
  record a pass made for the Fair-Tree usage before (the core's step skips it when it judges
  by entitlement; the broker's ordering keeps its own sums: bench_dispatch_usage.py);
  ``incremental_vs_baseline`` and ``seed_vs_baseline`` are the ratios;
- ``agree``: the kept and the fresh book give the same integrals (relative 1e-9).

Prints one JSON object; figures go to docs/benchmarks.md ("Dispatcher: the entitlement
judge's state").
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
from datetime import datetime, timedelta
from pathlib import Path

from bench_dispatch import setup
from pnyx.backends.fake import FakeBackend, FakeNode, FakeProgram
from pnyx.domain.broker import BrokerConfig
from pnyx.domain.identity import Actor, Role
from pnyx.services import accounting, awards, jobs
from pnyx.services.context import ServiceContext, utc_now
from pnyx.services.dispatch import DispatchConfig, DispatchState, dispatch_once
from pnyx.services.dispatch_entitlement import EntitlementBook
from pnyx.services.jobs_dto import JobRequest
from pnyx.store import jobs_repo

SYSTEM = Actor.system()
HALF_LIFE_S = 7 * 86_400.0
PEOPLE = (("polyglot-7b", "res-de", "de"), ("code-open-3b", "res-fr", "fr"))


class StepClock:
    """Now, then one millisecond per reading; the benchmark moves it on as the jobs run."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


class History:
    """A store, a fake engine whose clock is the store's, and the dispatcher driving it."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.awards = {a.project_id: a.award_id for a in awards.list_awards(ctx)}
        self.engine = FakeBackend(
            "lab-gpu",
            [FakeNode(f"node{i}", "h100", 8) for i in range(128)],
            program_for=lambda s: FakeProgram(duration_s=30),
            now=ctx.clock().timestamp(),
        )
        self.state = DispatchState()
        self.config = DispatchConfig(
            placement="engine", broker=BrokerConfig(max_backlog_ratio=None), preemption=None
        )

    def run_jobs(self, n: int) -> None:
        """``n`` jobs submitted, run 30 s and ended (usage charged), 1,000 at a time."""
        for start in range(0, n, 1000):
            for i in range(start, min(n, start + 1000)):
                project, who, member = PEOPLE[i % 2]
                actor = Actor(who, frozenset({Role.RESEARCHER}), member)
                request = JobRequest(
                    project_id=project, award_id=self.awards[project], command=["train"],
                    accelerator_types=["h100"], accelerators_per_node=1, time_limit_s=60,
                )  # fmt: skip
                jobs.submit_job(self.ctx, actor, request)
            self.dispatch()
            self.later(31)
            for _ in range(2):  # usage first, then the final state
                self.dispatch()

    def dispatch(self) -> None:
        dispatch_once(self.ctx, SYSTEM, {"lab-gpu": self.engine}, self.state, self.config)

    def later(self, seconds: float) -> None:
        self.ctx.clock.now += timedelta(seconds=seconds)  # type: ignore[attr-defined]
        self.engine.advance(seconds)


def timed_ms(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


def agree(a: dict[tuple[str, str, str], float], b: dict[tuple[str, str, str], float]) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-9) for k in a)


def bench(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        made = setup(Path(tmp))
        ctx = ServiceContext(db=made.db, log_signer=made.log_signer, clock=StepClock())
        world = History(ctx)
        build = timed_ms(lambda: world.run_jobs(args.ended))
        now = lambda: ctx.clock().timestamp()  # noqa: E731
        kept = EntitlementBook(HALF_LIFE_S)
        kept.refresh(ctx, now())

        def seed() -> None:
            EntitlementBook(HALF_LIFE_S).refresh(ctx, now())

        seed_ms = [timed_ms(seed) for _ in range(args.repeat)]
        idle_ms = [timed_ms(lambda: kept.refresh(ctx, now())) for _ in range(args.repeat)]
        base_ms = [
            timed_ms(lambda: accounting.decayed_usage(ctx, ctx.clock(), 7.0))
            for _ in range(args.repeat)
        ]
        step_ms = []
        for _ in range(args.repeat):
            world.run_jobs(args.new)
            step_ms.append(timed_ms(lambda: kept.refresh(ctx, now())))
        with ctx.db.read() as conn:
            rows = jobs_repo.job_rows(conn, ["queued", "running"])
        fresh, at = EntitlementBook(HALF_LIFE_S), now()
        fresh.refresh(ctx, at)
        kept.refresh(ctx, at)
        a, b = kept.at(rows, at), fresh.at(rows, at)
        with ctx.db.read() as conn:
            ended = len(jobs_repo.job_rows(conn, ["succeeded"]))
    seed, idle = statistics.median(seed_ms), statistics.median(idle_ms)
    step, base = statistics.median(step_ms), statistics.median(base_ms)
    return {
        "ended_jobs": ended,
        "usage_records": ended,
        "new_per_pass": args.new,
        "build_s": round(build / 1000, 1),
        "seed_ms": round(seed, 1),
        "idle_ms": round(idle, 2),
        "incremental_ms": round(step, 2),
        "baseline_ms": round(base, 1),
        "incremental_vs_baseline": round(step / base, 3),
        "seed_vs_baseline": round(seed / base, 2),
        "agree": agree(dict(a.usage), dict(b.usage)) and agree(dict(a.demand), dict(b.demand)),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ended", type=int, default=2000)
    parser.add_argument("--new", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--tmp", default=None, help="directory for the store (e.g. /dev/shm)")
    print(json.dumps(bench(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
