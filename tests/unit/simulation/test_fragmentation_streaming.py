"""Fragmentation, one-pod placement counts, the lazy job source and the standalone report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pnyx.cli.main import app
from pnyx.sched import JobRequest, SchedulerState, grid_facility
from pnyx.sched.fragmentation import unusable_free
from pnyx.sched.jobs import Allocation, RunningJob, RunningTable
from pnyx.sched.placement import NODE, Placement
from pnyx.sim.engine import Engine, EngineConfig
from pnyx.sim.policies import policy_setup
from pnyx.sim.replay import (
    PER_NODE,
    ReplayConfig,
    WorkloadJobs,
    prepare,
    replay,
    segment_table,
    sim_facility,
)

SAMPLE = Path(__file__).parents[2] / "data" / "philly-sample.csv"


def request(
    job_id: int, accelerators: int, per_node: int | None = None, time_limit_s: float = 100.0
) -> JobRequest:
    return JobRequest(
        job_id=job_id,
        project=1,
        member=1,
        programme=1,
        user=1,
        accelerators=accelerators,
        per_node=per_node,
        types=(0,),
        containment=1,
        time_limit_s=time_limit_s,
        submit_s=0.0,
    )


def state_with_two_free_on_node_0() -> SchedulerState:
    """Two nodes of 8: node 0 runs a 6-accelerator job (2 free), node 1 is idle (8 free)."""
    state = SchedulerState(grid_facility((1,), 2, 8))
    running = request(100, 6)
    state.submit(running)
    state.start(running, Placement(Allocation.of([0], [6]), 0, NODE, 1, 2), 0.0, False)
    return state


def test_free_accelerators_below_every_pending_unit_are_unusable() -> None:
    state = state_with_two_free_on_node_0()
    assert unusable_free(state) == (10, 0)  # nothing pending: idle, not fragmented
    state.submit(request(1, 16, per_node=8))  # a gang of two whole nodes
    assert unusable_free(state) == (10, 2)  # node 0's 2 free fit no 8-per-node unit
    state.submit(request(2, 4))  # a 4-accelerator job fits one node: unit 4
    assert unusable_free(state) == (10, 2)
    state.submit(request(3, 2))  # a 2-accelerator job could use node 0's pair
    assert unusable_free(state) == (10, 0)


def test_sim_run_reports_fragmentation_and_one_pod_fraction() -> None:
    work = prepare(SAMPLE, None, None, 3.0, ReplayConfig(64, "pnyx"))
    out, _ = replay(work, ReplayConfig(64, "backfill"))
    frag, pods = out["fragmentation"], out["one_pod"]
    assert 0 <= frag["unusable_accelerators"] <= frag["free_accelerators"] <= 64
    assert frag["free_while_jobs_wait"] <= frag["free_accelerators"]
    assert 0 <= frag["fraction_of_free"] <= 1
    assert pods["multi_node_starts"] > 0  # the sample has gangs of 16 and more
    assert pods["placed_in_one_pod"] <= pods["one_pod_possible"] <= pods["multi_node_starts"]
    if pods["one_pod_possible"]:
        assert pods["fraction"] == pods["placed_in_one_pod"] / pods["one_pod_possible"]


def eager_jobs(work: object, config: ReplayConfig) -> list[JobRequest]:
    """The requests as the simulator built them before they were made lazily."""
    rng = np.random.default_rng(config.seed + 1)
    n = work.jobs  # type: ignore[attr-defined]
    any_type = rng.random(n) < 0.5
    one_type = rng.integers(0, config.types, n)
    out = []
    for j in range(n):
        acc = int(work.accelerators[j])  # type: ignore[attr-defined]
        gang = acc > PER_NODE and acc % PER_NODE == 0
        types = tuple(range(config.types)) if any_type[j] else (int(one_type[j]),)
        out.append(
            JobRequest(
                job_id=j,
                project=int(work.member[j]),  # type: ignore[attr-defined]
                member=int(work.member[j]),  # type: ignore[attr-defined]
                programme=0,
                user=int(work.member[j]),  # type: ignore[attr-defined]
                accelerators=acc,
                per_node=PER_NODE if gang else None,
                types=types,
                containment=1,
                time_limit_s=math.ceil(float(work.runtime_s[j]) * config.overestimate),  # type: ignore[attr-defined]
                submit_s=float(work.submit_s[j]),  # type: ignore[attr-defined]
                preemptible=True,
                checkpoint_interval_s=config.checkpoint_interval_s,
            )
        )
    return out


def test_lazy_job_source_builds_the_same_requests() -> None:
    config = ReplayConfig(512, "pnyx", seed=2, types=3)
    work = prepare(SAMPLE, None, None, 2.0, config)
    lazy = WorkloadJobs(work, config, exact_limits=False)
    assert len(lazy) == work.jobs
    assert [lazy[j] for j in range(work.jobs)] == eager_jobs(work, config)
    assert lazy[-1] == lazy[work.jobs - 1] and lazy[1:3] == [lazy[1], lazy[2]]
    with pytest.raises(IndexError):
        lazy[work.jobs]


def test_engine_runs_a_plain_list_as_the_lazy_source() -> None:
    """A plain list (submission times read from the jobs) runs exactly like the lazy source."""
    config = ReplayConfig(64, "pnyx")
    work = prepare(SAMPLE, None, None, 1.5, config)
    runs = []
    for jobs in (WorkloadJobs(work, config, False), eager_jobs(work, config)):
        state = SchedulerState(sim_facility(64), policy_setup("pnyx").config)
        engine = Engine(state, jobs, work.runtime_s, EngineConfig())
        seg = segment_table(work, engine.run())
        runs.append(np.column_stack([seg.job, seg.start_s, seg.end_s, seg.outcome]))
    assert np.array_equal(runs[0], runs[1])
    assert runs[0].shape[0] >= work.jobs


def test_report_out_writes_a_standalone_html_report(tmp_path: Path) -> None:
    out_dir = tmp_path / "week"
    result = CliRunner().invoke(
        app,
        [
            "sim", "run", "--trace", str(SAMPLE), "--accelerators", "64", "--policy", "pnyx",
            "--load", "2", "--report-out", str(out_dir), "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads((out_dir / "report.json").read_text())
    frag = doc["series"]["fragmentation"]
    assert len(frag["free"]) == len(frag["unusable"]) == len(doc["series"]["utilisation"]["values"])
    html = (out_dir / "report.html").read_text()
    assert html.startswith("<!doctype html>") and html.count("<svg") == 5
    assert 'id="fragmentation"' in html and 'id="one-pod"' in html
    assert "/static/" not in html and "<style>" in html  # opens without a server


def test_running_table_keeps_the_end_order_of_a_stable_argsort() -> None:
    """by_end, merged from call to call, equals a fresh stable argsort of the live ends."""
    rng = np.random.default_rng(7)
    table = RunningTable()
    alive: list[int] = []
    for step in range(60):
        for _ in range(int(rng.integers(1, 200))):
            j = len(alive) + 1000 * step
            nodes = sorted(rng.choice(50, size=int(rng.integers(1, 4)), replace=False).tolist())
            req = request(j, 2 * len(nodes), 2, float(rng.integers(1, 40)))  # many ties
            table.add(RunningJob(req, 0.0, Allocation.of(nodes, [2] * len(nodes)), 0, 0, 1.0))
            alive.append(j)
        for j in rng.choice(alive, size=len(alive) // 3, replace=False).tolist():
            table.remove(j)
            alive.remove(j)
        _, count, end_s = table.entries()
        live = np.flatnonzero(count > 0)
        assert np.array_equal(table.by_end(), live[np.argsort(end_s[live], kind="stable")])


def test_capacity_arrays_follow_owner_changes() -> None:
    state = SchedulerState(grid_facility((1,), 2, 8, levels=(3,)))
    free, owner, _, level = state.index.arrays()
    assert free.tolist() == [8, 8] and owner.tolist() == [-1, -1] and level.tolist() == [3, 3]
    assert not owner.flags.writeable  # shared between calls
    exclusive = JobRequest(
        job_id=5, project=9, member=1, programme=1, user=1, accelerators=4, per_node=None,
        types=(0,), containment=3, time_limit_s=10.0, submit_s=0.0,
    )  # fmt: skip
    state.submit(exclusive)
    state.start(exclusive, Placement(Allocation.of([1], [4]), 0, NODE, 1, 4), 0.0, False)
    free, owner, _, _ = state.index.arrays()
    assert free.tolist() == [8, 4] and owner.tolist() == [-1, 9]
    state.release(5, 1.0)
    assert state.index.arrays()[1].tolist() == [-1, -1]
