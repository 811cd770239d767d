"""The dispatcher against the in-memory fake engine: life cycle, cancel, engine faults, backoff,
usage charged exactly once, restart reconciliation, brokering across two clusters."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.integration.jobs_setup import OPERATOR, JobWorld, build_world, request

from pnyx.backends.base import BackendState, JobSpec, JobStatus, UsageRecord
from pnyx.backends.fake import FakeBackend, FakeNode, FakeProgram
from pnyx.errors import NotFoundError
from pnyx.services import accounting, jobs
from pnyx.services.context import ServiceContext
from pnyx.services.dispatch import (
    DispatchConfig,
    DispatchReport,
    DispatchState,
    dispatch_once,
    run_key,
    store_namespace,
)
from pnyx.services.dispatch_order import serving_cluster
from pnyx.services.jobs_dto import JobView
from pnyx.store.tables import events
from pnyx.workers.dispatcher import Dispatcher

MIX_NODES = [
    FakeNode("mi-a", "mi300x", 2),
    FakeNode("mi-b", "mi300x", 2),
    FakeNode("gaudi-000", "gaudi3", 4),
]


class Site:
    """A world with two fake clusters named as in the inventory, and the dispatcher's state."""

    def __init__(
        self,
        ctx: ServiceContext,
        program: Callable[[JobSpec], FakeProgram] | None = None,
        gpu_nodes: list[FakeNode] | None = None,
    ) -> None:
        self.ctx = ctx
        self.world: JobWorld = build_world(ctx)
        kw = {"program_for": program} if program else {}
        self.gpu = FakeBackend("lab-gpu", gpu_nodes, **kw)  # type: ignore[arg-type]
        self.mix = FakeBackend("lab-mix", MIX_NODES, **kw)  # type: ignore[arg-type]
        self.state = DispatchState()
        self.config = DispatchConfig()

    def backends(self) -> dict[str, FakeBackend]:
        return {"lab-gpu": self.gpu, "lab-mix": self.mix}

    def submit(self, **overrides: object) -> str:
        return jobs.submit_job(self.ctx, self.world.alice, request(self.world, **overrides)).job_id

    def run(self) -> DispatchReport:
        return dispatch_once(self.ctx, OPERATOR, self.backends(), self.state, self.config)

    def job(self, job_id: str) -> JobView:
        return jobs.get_job(self.ctx, job_id)

    def key(self, job_id: str, run: int = 0) -> str:
        """The engine's name of the job's run (this store's namespace, the id, the run)."""
        return run_key(job_id, run, store_namespace(self.ctx, OPERATOR))

    def later(self, seconds: float) -> None:
        self.ctx.clock.now += timedelta(seconds=seconds)  # type: ignore[attr-defined]


def used_seconds(ctx: ServiceContext, project: str = "alpha") -> int:
    lines = accounting.statement(ctx, "project", project).lines
    return sum(line.used_seconds for line in lines)


def usage_of(ctx: ServiceContext, job_id: str) -> list[tuple[str, int]]:
    return [
        (u.accelerator_type, u.accel_seconds)
        for u in accounting.list_usage(ctx)
        if u.job_id == job_id
    ]


def states(view: JobView) -> list[str]:
    return [h.state for h in view.history]


def test_full_life_cycle_runs_charges_and_keeps_the_log(ctx: ServiceContext) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=30, output="hello from the job"))
    job_id = site.submit()
    first = site.run()
    assert first.placed == [job_id] and first.submitted == [job_id]
    view = site.job(job_id)
    assert view.state == "running" and view.cluster == "lab-gpu"
    assert view.backend_job_id == site.gpu.find(site.key(job_id))
    placed = next(h for h in view.history if h.state == "placed")
    assert placed.reason.startswith("broker: lab-gpu") and "h100" in placed.reason
    site.gpu.advance(31)
    second = site.run()
    assert second.ended == {job_id: "succeeded"}
    view = site.job(job_id)
    assert view.state == "succeeded" and view.exit_code == 0
    assert states(view)[-4:] == ["placed", "starting", "running", "succeeded"]
    assert usage_of(ctx, job_id) == [("h100", 8 * 30)]
    assert used_seconds(ctx) == 240
    assert "hello from the job" in jobs.get_job_log(ctx, OPERATOR, job_id).text
    for _ in range(3):
        site.run()
    assert usage_of(ctx, job_id) == [("h100", 240)]
    assert site.gpu.status_calls == 2  # one batched query per pass while jobs were active


def test_one_status_query_per_engine_per_pass(ctx: ServiceContext) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=None))
    ids = [site.submit(accelerators_per_node=1, time_limit_s=600) for _ in range(12)]
    report = site.run()
    assert sorted(report.submitted) == sorted(ids)
    assert report.status_calls == {"lab-gpu": 1}
    assert site.gpu.status_calls == 1
    assert {site.job(i).state for i in ids} == {"running"}


def test_cancel_goes_through_the_engine(ctx: ServiceContext) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=None))
    job_id = site.submit()
    site.run()
    site.gpu.advance(10)
    jobs.cancel_job(ctx, site.world.alice, job_id, "wrong learning rate")
    assert site.job(job_id).state == "running"  # only requested: the engine still runs it
    report = site.run()
    assert report.ended == {job_id: "cancelled"}
    view = site.job(job_id)
    assert site.gpu.status([site.key(job_id)])[site.key(job_id)].state is BackendState.CANCELLED
    assert "wrong learning rate" in view.state_reason
    assert usage_of(ctx, job_id) == [("h100", 80)]


def test_cancel_of_a_placed_job_never_submits_it(ctx: ServiceContext) -> None:
    site = Site(ctx)
    job_id = site.submit()
    jobs.place_job(ctx, OPERATOR, job_id, "lab-gpu", "h100", "placed by hand")
    jobs.cancel_job(ctx, site.world.alice, job_id, "changed my mind")
    site.run()
    assert site.job(job_id).state == "cancelled"
    assert site.gpu.find(site.key(job_id)) is None


def test_engine_requeue_on_node_failure_is_followed(ctx: ServiceContext) -> None:
    site = Site(
        ctx,
        program=lambda spec: FakeProgram(duration_s=100),
        gpu_nodes=[FakeNode("node1", "h100", 8)],
    )
    job_id = site.submit()
    site.run()
    site.gpu.advance(20)
    site.gpu.fail_node("node1", "power supply")
    site.run()
    view = site.job(job_id)
    assert view.state == "requeued" and "power supply" in view.state_reason
    assert usage_of(ctx, job_id) == [("h100", 160)]  # the interrupted run is charged
    site.gpu.resume_node("node1")
    site.run()
    assert site.job(job_id).state == "running"
    site.gpu.advance(101)
    site.run()
    view = site.job(job_id)
    assert view.state == "succeeded"
    assert states(view).count("placed") == 2  # placed again when the engine restarted it
    assert usage_of(ctx, job_id) == [("h100", 160), ("h100", 800)]


def test_preemption_requeues_in_pnyx_under_a_new_run(ctx: ServiceContext) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=50))
    job_id = site.submit(preemptible=True)
    site.run()
    site.gpu.advance(10)
    site.gpu.preempt(site.key(job_id))
    report = site.run()
    assert report.requeued == [job_id]
    assert states(site.job(job_id))[-3:] == ["preempted", "requeued", "queued"]
    site.run()
    second = site.key(job_id, 1)
    assert site.gpu.find(second) is not None
    assert site.job(job_id).backend_job_id == site.gpu.find(second)
    site.gpu.advance(51)
    site.run()
    assert site.job(job_id).state == "succeeded"
    assert usage_of(ctx, job_id) == [("h100", 80), ("h100", 400)]


def test_requeues_stop_after_the_limit(ctx: ServiceContext) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=50))
    site.config = DispatchConfig(max_requeues=1)
    job_id = site.submit()
    for _ in range(2):
        site.run()
        site.gpu.advance(5)
        key = site.key(job_id, site.state.runs[job_id])
        site.gpu.preempt(key)
        site.run()
    view = site.job(job_id)
    assert view.state == "cancelled" and "requeued 1 times already" in view.state_reason


def test_lost_job_is_requeued_then_fails_after_the_limit(ctx: ServiceContext) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=None))
    site.config = DispatchConfig(max_requeues=1)
    job_id = site.submit()
    site.run()
    site.gpu.forget(site.key(job_id))
    site.run()
    view = site.job(job_id)
    assert view.state == "queued"  # a new run, not a silent loss
    requeued = [h for h in view.history if h.state == "requeued"]
    assert requeued and requeued[-1].reason.startswith("lost:")
    site.run()  # placed and started again under the next run key
    site.gpu.forget(site.key(job_id, site.state.runs[job_id]))
    site.run()
    view = site.job(job_id)
    assert view.state == "failed" and view.state_reason.startswith("lost:")
    assert "requeued 1 times already" in view.state_reason


def test_timeout_and_failure_reasons(ctx: ServiceContext) -> None:
    site = Site(
        ctx,
        program=lambda spec: FakeProgram(
            duration_s=None if spec.time_limit_s == 60 else 5, exit_code=3
        ),
    )
    slow = site.submit(time_limit_s=60)
    bad = site.submit(time_limit_s=120)
    site.run()
    site.gpu.advance(61)
    site.run()
    assert site.job(slow).state_reason == "time limit of 60 s reached"
    assert site.job(bad).state == "failed" and site.job(bad).exit_code == 3
    assert "exit code 3" in site.job(bad).state_reason


def test_unavailable_engine_backs_off_and_loses_nothing(ctx: ServiceContext) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=None))
    running = site.submit()
    site.run()
    site.gpu.set_unavailable()
    site.mix.set_unavailable()
    queued = site.submit()
    first = site.run()
    assert "retry in 1 s" in first.unavailable["lab-gpu"]
    assert site.job(queued).state == "queued" and site.job(running).state == "running"
    assert "engine unavailable" in first.waiting[queued]
    second = site.run()  # within the backoff: the engine is not asked
    assert "retry at" in second.unavailable["lab-gpu"]
    site.later(1.5)
    third = site.run()
    assert "retry in 2 s" in third.unavailable["lab-gpu"]
    site.later(2.5)
    assert "retry in 4 s" in site.run().unavailable["lab-gpu"]
    site.gpu.set_unavailable(False)
    site.mix.set_unavailable(False)
    site.later(5)
    report = site.run()
    assert report.unavailable == {} and report.placed == [queued]
    assert {site.job(queued).state, site.job(running).state} == {"running"}
    assert site.state.backoff == {}


def test_usage_is_charged_once_across_a_crash(
    ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=10))
    job_id = site.submit()
    site.run()
    site.gpu.advance(11)
    real = jobs.transition_job

    def crash_on_success(*args: object, **kw: object) -> JobView:
        if args[3] == "succeeded":
            raise RuntimeError("the dispatcher died here")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(jobs, "transition_job", crash_on_success)
    with pytest.raises(RuntimeError):
        site.run()
    monkeypatch.setattr(jobs, "transition_job", real)
    assert site.job(job_id).state == "running"
    assert usage_of(ctx, job_id) == [("h100", 80)]  # charged before the crash
    site.state = DispatchState()  # a restarted process remembers nothing
    site.run()
    assert site.job(job_id).state == "succeeded"
    assert usage_of(ctx, job_id) == [("h100", 80)]


def test_restart_reconciles_placed_and_started_jobs(ctx: ServiceContext) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=None))
    placed = site.submit()
    submitted = site.submit()
    jobs.place_job(ctx, OPERATOR, placed, "lab-gpu", "h100", "before the crash")
    jobs.place_job(ctx, OPERATOR, submitted, "lab-gpu", "h100", "before the crash")
    engine_id = site.gpu.submit(
        JobSpec(site.key(submitted), ("python",), "h100", 1, 8)
    )  # then it died
    site.run()  # a fresh process: resubmits both, idempotently
    assert site.job(placed).state == "running"
    assert site.job(submitted).state == "running"
    assert site.job(submitted).backend_job_id == engine_id
    assert site.gpu.find(site.key(placed)) is not None


def test_broker_spreads_jobs_over_two_clusters(ctx: ServiceContext) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=None))
    # the broker's own choice: lab-mix's nodes are declared, so placement="pnyx" would let
    # the scheduling core place there first (tests/integration/test_dispatch_sched.py)
    site.config = DispatchConfig(placement="engine")
    on_gpu = site.submit(accelerator_types=["h100"])
    on_mix = site.submit(accelerator_types=["mi300x"], accelerators_per_node=2, time_limit_s=600)
    either = site.submit(
        accelerator_types=["h100", "mi300x"], accelerators_per_node=2, time_limit_s=600
    )
    report = site.run()
    assert sorted(report.placed) == sorted([on_gpu, on_mix, either])
    assert site.job(on_gpu).cluster == "lab-gpu"
    assert site.job(on_mix).cluster == "lab-mix"
    assert site.job(either).cluster == "lab-gpu"  # h100 first in its list, and free
    assert (
        site.mix.find(site.key(on_mix)) is not None and site.gpu.find(site.key(on_gpu)) is not None
    )
    assert report.status_calls == {"lab-gpu": 1, "lab-mix": 1}


def test_fair_share_ranks_the_less_served_project_first(ctx: ServiceContext) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=None))
    start = ctx.clock() - timedelta(hours=2)
    accounting.record_usage(
        ctx,
        OPERATOR,
        "alpha",
        "h100",
        50 * 3600,
        start.isoformat(),
        (start + timedelta(hours=1)).isoformat(),
    )
    heavy = site.submit()
    light = jobs.submit_job(
        ctx,
        site.world.bob,
        request(
            site.world,
            project_id="beta",
            award_id=site.world.award_beta,
            accelerators_per_node=1,
            time_limit_s=1800,
            containment="CL-2",
        ),
    ).job_id
    report = site.run()
    assert report.placed == [light, heavy]


def test_a_job_left_preempted_by_a_crash_is_requeued(ctx: ServiceContext) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=None))
    job_id = site.submit(preemptible=True)
    site.run()
    site.gpu.preempt(site.key(job_id))
    jobs.transition_job(ctx, OPERATOR, job_id, "preempted", "preempted (then the process died)")
    site.state = DispatchState()
    report = site.run()
    assert report.requeued == [job_id]
    site.run()
    assert site.job(job_id).state == "running"
    assert site.gpu.find(site.key(job_id, 1)) is not None


def test_run_keys_carry_the_store_namespace(ctx: ServiceContext) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=None))
    with pytest.raises(NotFoundError):
        store_namespace(ctx)  # no dispatcher ran yet
    job_id = site.submit()
    site.run()
    site.state = DispatchState()  # a restart reads the recorded namespace again
    site.run()
    namespace = store_namespace(ctx)
    assert re.fullmatch(r"[0-9a-f]{8}", namespace)
    assert site.key(job_id) == f"{namespace}-{job_id}"
    assert site.gpu.find(job_id) is None  # never the bare id: another store may use it
    assert run_key(job_id, 2, namespace) == f"{namespace}-{job_id}.r2"
    assert run_key(job_id, 0) == job_id
    with ctx.db.read() as conn:
        kinds = conn.execute(select(events.c.kind).where(events.c.kind == "dispatch.namespace_set"))
        assert len(kinds.all()) == 1


def test_which_inventory_cluster_an_engine_serves(ctx: ServiceContext) -> None:
    build_world(ctx)
    assert serving_cluster(ctx, "lab-mix", "slurm", ["h100"]) == "lab-mix"  # declared: itself
    assert serving_cluster(ctx, "local", "local", ["h100"]) == "lab-gpu"  # engine and type
    assert serving_cluster(ctx, "alpha", "slurm", ["mi300x"]) == "lab-mix"  # type only
    assert serving_cluster(ctx, "alpha", "slurm", ["h100"], taken=["lab-gpu"]) == "alpha"
    assert serving_cluster(ctx, "beta", "slurm", ["h200"]) == "beta"  # nothing fits


def test_the_worker_runs_passes_over_its_backends(ctx: ServiceContext) -> None:
    site = Site(ctx, program=lambda spec: FakeProgram(duration_s=None))
    job_id = site.submit()
    worker = Dispatcher(ctx, site.backends())
    report = worker.run_once()
    assert report.placed == [job_id] and site.job(job_id).state == "running"
    site.gpu.set_unavailable()
    assert "lab-gpu" in worker.run_once().unavailable
    assert worker.state.backoff["lab-gpu"].failures == 1


class SlurmLikeFake(FakeBackend):
    """Reports an engine requeue as Slurm 22.05 does: the same job, PENDING again."""

    def status(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        out = super().status(job_ids)
        return {
            k: replace(s, state=BackendState.PENDING) if s.state is BackendState.REQUEUED else s
            for k, s in out.items()
        }


def test_a_requeue_seen_only_as_pending_again_is_followed(ctx: ServiceContext) -> None:
    site = Site(ctx)
    site.gpu = SlurmLikeFake(
        "lab-gpu", [FakeNode("node1", "h100", 8)], program_for=lambda s: FakeProgram(duration_s=60)
    )
    job_id = site.submit()
    site.run()
    site.gpu.advance(10)
    site.gpu.fail_node("node1", "slurmd not responding")
    site.run()
    view = site.job(job_id)
    assert view.state == "starting" and states(view)[-3:] == ["requeued", "placed", "starting"]
    assert usage_of(ctx, job_id) == [("h100", 80)]  # the first run is charged
    site.gpu.resume_node("node1")
    site.run()
    site.gpu.advance(61)
    site.run()
    assert site.job(job_id).state == "succeeded"
    assert usage_of(ctx, job_id) == [("h100", 80), ("h100", 480)]


class NoAccountingFake(FakeBackend):
    """An engine without an accounting database (Slurm without slurmdbd)."""

    def accounting(self, job_ids: Sequence[str]) -> list[UsageRecord]:
        del job_ids
        return []


def test_without_engine_accounting_the_run_is_charged_from_its_times(ctx: ServiceContext) -> None:
    site = Site(ctx)
    site.gpu = NoAccountingFake("lab-gpu", program_for=lambda s: FakeProgram(duration_s=20))
    job_id = site.submit()
    site.run()
    site.gpu.advance(21)
    waits = site.config.accounting_wait_passes
    for _ in range(waits):
        site.run()
        assert site.job(job_id).state == "running"  # waiting for the engine's record
    site.run()
    assert site.job(job_id).state == "succeeded"
    for _ in range(2):
        site.run()
    assert usage_of(ctx, job_id) == [("h100", 8 * 20)]
