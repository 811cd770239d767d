"""Dispatcher benchmark: one dispatch pass with 1,000 active jobs on the in-memory fake engine,
and the place step with the scheduling core against the broker (same process).

    python bench/bench_dispatch.py [--jobs 1000] [--repeat 7] [--queued 1000] [--active 1000]
                                   [--rounds 3] [--only all|lifecycle|placement]

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

**Placement** (``"placement"`` in the JSON): a cluster ``bench-gpu`` of 32 pods x 8 nodes x 8
h100 (2,048 accelerators) whose fake engine reports the inventory's node names; ``--active``
one-accelerator jobs of two members are placed and left running, then ``--queued`` more are
submitted and ONE pass is timed (it ranks, places all of them, submits them and queries the
engine), with ``placement="pnyx"`` (the core places them on nodes) and ``placement="engine"``
(the broker picks the cluster, the engine the nodes), each on a fresh store, alternating,
``--rounds`` times; medians and the ratio pnyx / engine. ``core_ms`` is the time inside the
core's driver (facility, state, pass), ``broker_ms`` the broker's ranking and choosing.
``blocked_pass_ms`` (pnyx only): a pass once the cluster is full and the queue cannot start
(ranking, reservations and pending reasons, no placement). ``--tmp /dev/shm`` keeps those
stores in memory: each commit then costs no fsync, so the pass times show the dispatcher's own
work rather than the disk's.

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
from pnyx.services import awards, dispatch_live, identity, inventory, jobs
from pnyx.services import dispatch as dispatch_mod
from pnyx.services.context import ServiceContext
from pnyx.services.demo_allocation import run_allocation_demo
from pnyx.services.dispatch import DispatchConfig, DispatchState, dispatch_once
from pnyx.services.jobs_dto import JobRequest
from pnyx.store import dispatch_repo, jobs_repo
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


BENCH_CLUSTER = {
    "cluster_id": "bench-gpu",
    "name": "Benchmark cluster",
    "engine": "slurm",
    "interconnect": "infiniband-ndr",
    "containment": "CL-2",
    "pods": [
        {
            "pod_prefix": "bench-r",
            "count": 32,
            "kind": "rack",
            "nodes": [
                {"count": 8, "accelerator_type": "h100", "accelerators_per_node": 8,
                 "cpus": 96, "mem_gib": 1024},
            ],
        }
    ],
}  # fmt: skip


class Stopwatch:
    """Accumulates the time spent in wrapped functions."""

    def __init__(self) -> None:
        self.ms = 0.0

    def wrap(self, fn: object) -> object:
        def timed(*args: object, **kw: object) -> object:
            start = time.perf_counter()
            try:
                return fn(*args, **kw)  # type: ignore[operator]
            finally:
                self.ms += (time.perf_counter() - start) * 1000

        return timed


def placement_round(data: Path, placement: str, active: int, queued: int) -> dict[str, float]:
    """One fresh store: ``active`` running jobs, then ONE timed pass placing ``queued`` more."""
    ctx = setup(data)
    spec = dict(inventory.parse_facility_file(FACILITY))
    site = dict(spec["sites"][0])
    site["clusters"] = [*site["clusters"], BENCH_CLUSTER]
    spec["sites"] = [site]
    inventory.load_facility(ctx, SYSTEM, spec)
    with ctx.db.read() as conn:
        names = [r["node_name"] for r in dispatch_repo.inventory_nodes(conn, ["bench-gpu"])]
    fake = FakeBackend(
        "bench-gpu",
        [FakeNode(n, "h100", 8) for n in names],
        program_for=lambda s: FakeProgram(duration_s=None),
    )
    backends = {"bench-gpu": fake}
    by_project = {a.project_id: a.award_id for a in awards.list_awards(ctx)}
    people = (("polyglot-7b", "res-de", "de"), ("code-open-3b", "res-fr", "fr"))

    def submit(n: int) -> None:
        for i in range(n):
            project, who, member = people[i % 2]
            actor = Actor(who, frozenset({Role.RESEARCHER}), member)
            request = JobRequest(
                project_id=project, award_id=by_project[project], command=["train"],
                accelerator_types=["h100"], accelerators_per_node=1, time_limit_s=600,
            )  # fmt: skip
            jobs.submit_job(ctx, actor, request)

    state = DispatchState()
    config = DispatchConfig(placement=placement, broker=BrokerConfig(max_backlog_ratio=None))
    submit(active)
    dispatch_once(ctx, SYSTEM, backends, state, config)
    submit(queued)
    core, broker = Stopwatch(), Stopwatch()
    saved = (dispatch_live.schedule_live, dispatch_mod.order_queued, dispatch_mod.choose_cluster)
    dispatch_live.schedule_live = core.wrap(saved[0])  # type: ignore[assignment]
    dispatch_mod.order_queued = broker.wrap(saved[1])  # type: ignore[assignment]
    dispatch_mod.choose_cluster = broker.wrap(saved[2])  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        report = dispatch_once(ctx, SYSTEM, backends, state, config)
        pass_ms = (time.perf_counter() - start) * 1000
    finally:
        dispatch_live.schedule_live = saved[0]
        dispatch_mod.order_queued, dispatch_mod.choose_cluster = saved[1], saved[2]
    out = {
        "pass_ms": pass_ms,
        "placed": float(len(report.placed)),
        "running": float(sum(1 for j in jobs.list_jobs(ctx, ["running"]))),
        "core_ms": core.ms,
        "broker_ms": broker.ms,
    }
    if placement == "pnyx":
        submit(queued)  # the cluster holds 2,048 accelerators: the rest waits
        dispatch_once(ctx, SYSTEM, backends, state, config)

        def blocked() -> None:
            dispatch_once(ctx, SYSTEM, backends, state, config)

        out["blocked_pass_ms"] = timed_ms(blocked)
    return out


def placement_bench(
    active: int, queued: int, rounds: int, tmp_dir: str | None = None
) -> dict[str, object]:
    """Alternating rounds of both modes, each on a fresh store (under ``tmp_dir``); medians
    and ratios."""
    runs: dict[str, list[dict[str, float]]] = {"pnyx": [], "engine": []}
    for _ in range(rounds):
        for mode in ("pnyx", "engine"):
            with tempfile.TemporaryDirectory(dir=tmp_dir) as tmp:
                runs[mode].append(placement_round(Path(tmp), mode, active, queued))

    def med(mode: str, key: str) -> float:
        return round(statistics.median(r[key] for r in runs[mode]), 1)

    out: dict[str, object] = {"active": active, "queued": queued, "rounds": rounds}
    for mode in runs:
        keys = ("pass_ms", "placed", "running", "core_ms", "broker_ms")
        out[mode] = {k: med(mode, k) for k in keys}
    pnyx_pass, engine_pass = med("pnyx", "pass_ms"), med("engine", "pass_ms")
    out["pnyx"]["blocked_pass_ms"] = med("pnyx", "blocked_pass_ms")  # type: ignore[index]
    out["pass_pnyx_vs_engine"] = round(pnyx_pass / engine_pass, 2)
    core = med("pnyx", "core_ms")
    out["core_ms_per_queued_job"] = round(core / queued, 3)
    return out


def timed_ms(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


def lifecycle_bench(args: argparse.Namespace) -> dict[str, object]:
    """Submit, place (engine mode: node names unknown to the inventory), steady and finish."""
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
    return {
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
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--active", type=int, default=1000)
    parser.add_argument("--queued", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("all", "lifecycle", "placement"), default="all")
    parser.add_argument(
        "--tmp", default=None, help="where the placement section's stores go (e.g. /dev/shm)"
    )
    args = parser.parse_args()
    out: dict[str, object] = {}
    if args.only in ("all", "lifecycle"):
        out.update(lifecycle_bench(args))
    if args.only in ("all", "placement"):
        out["placement"] = placement_bench(args.active, args.queued, args.rounds, args.tmp)
    out["machine"] = f"{platform.machine()} {platform.python_version()}"
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
