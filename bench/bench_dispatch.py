"""Dispatcher benchmark: one dispatch pass with 1,000 active jobs on the in-memory fake engine.

    python bench/bench_dispatch.py [--jobs 1000] [--repeat 7]

On a fresh SQLite store (the demo's awards, the small example facility) ``--jobs``
single-accelerator h100 jobs are submitted; a fake cluster with room for all of them serves
cluster ``lab-gpu``. Then, in the same process:

- ``submit_ms_per_job``: mean :func:`pnyx.services.jobs.submit_job` (admission) time;
- ``place_pass_ms``: the first pass, which ranks, brokers, places, submits and starts every job
  (four recorded events per job), and ``place_ms_per_job``;
- ``steady_pass_ms``: p50 of a pass over ``--jobs`` running jobs where nothing changes (one
  read of the active jobs, ONE batched status query, no write);
- ``baseline_ms`` (same process): the part of a steady pass no dispatcher can avoid: one read
  of the active job rows plus one batched status query of the engine; ``steady_vs_baseline``
  is the ratio;
- ``finish_pass_ms``: the pass that sees every job succeed (one accounting query, usage,
  log and final state recorded per job), and ``finish_ms_per_job``;
- ``status_calls_per_pass``: engine status queries per pass (must be 1).

Prints one JSON object; figures go to docs/benchmarks.md ("Dispatcher").
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from pnyx.backends.fake import FakeBackend, FakeNode, FakeProgram
from pnyx.domain.broker import BrokerConfig
from pnyx.domain.identity import Actor, Role
from pnyx.domain.jobs import ACTIVE
from pnyx.ledger.note import generate_signer
from pnyx.services import awards, identity, inventory, jobs
from pnyx.services.context import ServiceContext
from pnyx.services.demo_allocation import run_allocation_demo
from pnyx.services.dispatch import DispatchConfig, DispatchState, dispatch_once
from pnyx.services.jobs_dto import JobRequest
from pnyx.store import jobs_repo
from pnyx.store.db import Database, url_for_data_dir
from pnyx.store.schema import migrate

SYSTEM = Actor.system()
FACILITY = Path(__file__).resolve().parents[1] / "examples" / "facility-small.yaml"


def setup(data: Path) -> ServiceContext:
    db = Database(url_for_data_dir(data))
    migrate(db)
    ctx = ServiceContext(db=db, log_signer=generate_signer("pnyx.bench/log"))
    for member in ("de", "fr", "it", "es", "pl"):
        identity.admit_member(ctx, SYSTEM, member, member.upper())
    run_allocation_demo(ctx)
    inventory.load_facility(ctx, SYSTEM, inventory.parse_facility_file(FACILITY))
    return ctx


def timed_ms(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ctx = setup(Path(tmp))
        award = next(a for a in awards.list_awards(ctx) if a.project_id == "polyglot-7b")
        researcher = Actor("res-de", frozenset({Role.RESEARCHER}), "de")
        request = JobRequest(
            project_id="polyglot-7b", award_id=award.award_id, command=["train"],
            accelerator_types=["h100"], accelerators_per_node=1, time_limit_s=60,
        )  # fmt: skip
        submit_ms = timed_ms(
            lambda: [jobs.submit_job(ctx, researcher, request) for _ in range(args.jobs)]
        )
        nodes = [FakeNode(f"node{i}", "h100", 8) for i in range(-(-args.jobs // 8))]
        fake = FakeBackend("lab-gpu", nodes, program_for=lambda s: FakeProgram(duration_s=30))
        backends = {"lab-gpu": fake}
        state = DispatchState()
        config = DispatchConfig(broker=BrokerConfig(max_backlog_ratio=None))

        def one_pass() -> None:
            dispatch_once(ctx, SYSTEM, backends, state, config)

        place_ms = timed_ms(one_pass)
        calls_before = fake.status_calls
        steady = [timed_ms(one_pass) for _ in range(args.repeat)]
        calls_per_pass = (fake.status_calls - calls_before) / args.repeat
        active = [s.value for s in ACTIVE]

        def baseline() -> None:
            with ctx.db.read() as conn:
                rows = jobs_repo.job_rows(conn, active)
            fake.status([r["job_id"] for r in rows])

        base = [timed_ms(baseline) for _ in range(args.repeat)]
        fake.advance(31)
        finish_ms = timed_ms(one_pass)
        done = jobs.list_jobs(ctx, ["succeeded"])
    steady_ms, base_ms = statistics.median(steady), statistics.median(base)
    print(
        json.dumps(
            {
                "jobs": args.jobs,
                "succeeded": len(done),
                "submit_ms_per_job": round(submit_ms / args.jobs, 2),
                "place_pass_ms": round(place_ms, 1),
                "place_ms_per_job": round(place_ms / args.jobs, 2),
                "steady_pass_ms": round(steady_ms, 1),
                "baseline_ms": round(base_ms, 1),
                "steady_vs_baseline": round(steady_ms / base_ms, 2),
                "finish_pass_ms": round(finish_ms, 1),
                "finish_ms_per_job": round(finish_ms / args.jobs, 2),
                "status_calls_per_pass": calls_per_pass,
                "machine": f"{platform.machine()} {platform.python_version()}",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
