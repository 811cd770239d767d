"""The dispatcher's place step with the scheduling core (placement="pnyx") on fake engines
whose nodes the inventory declares: gangs kept in one pod, CL-3 jobs alone with their project,
EASY backfill around a reservation, preemption of an over-served member's preemptible job,
and no over-allocation across passes. Slurm's --nodelist is tested in test_dispatch_slurm.py."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from datetime import timedelta

from tests.integration.jobs_setup import OPERATOR, build_world, request

from pnyx.backends.base import JobSpec
from pnyx.backends.fake import FakeBackend, FakeNode, FakeProgram
from pnyx.sched.preemption import Judge, PreemptionPolicy
from pnyx.services import inventory, jobs
from pnyx.services.context import ServiceContext
from pnyx.services.dispatch import (
    DispatchConfig,
    DispatchReport,
    DispatchState,
    dispatch_once,
    run_key,
    store_namespace,
)
from pnyx.services.jobs_dto import JobView
from pnyx.store.replay import check_replay

EXTRA_CLUSTER = {
    "cluster_id": "lab-big",
    "name": "Lab big cluster",
    "engine": "slurm",
    "interconnect": "infiniband-ndr",
    "containment": "CL-2",
    "pods": [
        {
            "pod_prefix": "big-r",
            "count": 3,
            "kind": "rack",
            "nodes": [
                {"count": 2, "accelerator_type": "h100", "accelerators_per_node": 8,
                 "cpus": 96, "mem_gib": 1024},
            ],
        }
    ],
}  # fmt: skip


def _program(spec: JobSpec) -> FakeProgram:
    """Jobs run until cancelled; a preemptible one traps its checkpoint signal."""
    traps = {int(signal.SIGUSR1): "checkpointing"} if spec.preemptible else {}
    return FakeProgram(duration_s=None, traps=traps)


class Live:
    """A job world whose fake engines report the inventory's own node names."""

    def __init__(
        self,
        ctx: ServiceContext,
        clusters: dict[str, Sequence[str]] | None = None,
        config: DispatchConfig | None = None,
    ) -> None:
        self.ctx = ctx
        self.world = build_world(ctx)
        if clusters and "lab-big" in clusters:
            _add_cluster(ctx)
        wanted = clusters or {"lab-gpu": ()}
        self.engines: dict[str, FakeBackend] = {}
        for cluster, only in wanted.items():
            nodes = [
                FakeNode(n.node_name, n.accelerator_type, n.accelerators)
                for n in inventory.list_nodes(ctx, cluster, limit=500).items
                if not only or n.node_name in only
            ]
            self.engines[cluster] = FakeBackend(cluster, nodes, program_for=_program)
        self.state = DispatchState()
        self.config = config or DispatchConfig()

    def submit(self, who: str = "alice", **overrides: object) -> str:
        actor = self.world.alice if who == "alice" else self.world.bob
        if who == "bob":
            beta = {"project_id": "beta", "award_id": self.world.award_beta, "containment": "CL-2"}
            overrides = {**beta, **overrides}
        return jobs.submit_job(self.ctx, actor, request(self.world, **overrides)).job_id

    def run(self) -> DispatchReport:
        return dispatch_once(self.ctx, OPERATOR, self.engines, self.state, self.config)

    def job(self, job_id: str) -> JobView:
        return jobs.get_job(self.ctx, job_id)

    def engine_nodes(self, job_id: str, cluster: str = "lab-gpu", run: int = 0) -> tuple[str, ...]:
        key = run_key(job_id, run, store_namespace(self.ctx, OPERATOR))
        return self.engines[cluster].status([key])[key].nodes

    def later(self, seconds: float) -> None:
        self.ctx.clock.now += timedelta(seconds=seconds)  # type: ignore[attr-defined]
        for engine in self.engines.values():
            engine.advance(seconds)


def _add_cluster(ctx: ServiceContext) -> None:
    spec = dict(inventory.parse_facility_file(_facility_file()))
    site = dict(spec["sites"][0])
    site["clusters"] = [*site["clusters"], EXTRA_CLUSTER]
    spec["sites"] = [site]
    inventory.load_facility(ctx, OPERATOR, spec)


def _facility_file() -> str:
    from tests.integration.jobs_setup import FACILITY

    return str(FACILITY)


def _placed_nodes(view: JobView) -> list[str]:
    return list(view.allocated_nodes)


def pod_of(node: str) -> str:
    return node.rsplit("-n", 1)[0]


def test_a_two_node_gang_lands_in_one_pod_and_runs_on_its_nodes(ctx: ServiceContext) -> None:
    live = Live(ctx, {"lab-big": ()})
    single = live.submit(accelerator_types=["h100"])
    live.run()
    taken = live.engine_nodes(single, "lab-big")
    assert len(taken) == 1
    gang = live.submit(nodes=2)
    report = live.run()
    assert report.placed == [gang]
    view = live.job(gang)
    placed = next(h for h in view.history if h.state == "placed")
    assert placed.reason.startswith("pnyx: one pod big-r") and "best fit" in placed.reason
    nodes = live.engine_nodes(gang, "lab-big")
    assert len(nodes) == 2 and len({pod_of(n) for n in nodes}) == 1
    assert taken[0] not in nodes
    assert sorted(nodes) == sorted(_placed_nodes(view)) or view.state == "running"
    assert check_replay(ctx.db).ok


def test_a_cl3_job_gets_a_node_no_other_project_uses(ctx: ServiceContext) -> None:
    live = Live(ctx)
    mine = live.submit(containment="CL-3", accelerators_per_node=4, time_limit_s=600)
    live.run()
    theirs = live.submit("bob", containment="CL-3", accelerators_per_node=4, time_limit_s=600)
    open_job = live.submit(accelerators_per_node=4, time_limit_s=600)
    live.run()
    secure = {"lab-gpu-r001-n000", "lab-gpu-r001-n001"}
    mine_nodes, theirs_nodes = live.engine_nodes(mine), live.engine_nodes(theirs)
    assert set(mine_nodes) <= secure and set(theirs_nodes) <= secure
    assert set(mine_nodes).isdisjoint(theirs_nodes)  # CL-3: never beside another project
    assert set(live.engine_nodes(open_job)).isdisjoint(secure)  # CL-1 never in CL-3 partition
    placed = next(h for h in live.job(theirs).history if h.state == "placed")
    assert "partition secure, CL-3" in placed.reason
    third = live.submit("bob", containment="CL-3", accelerators_per_node=8, time_limit_s=300)
    report = live.run()
    assert third not in report.placed  # 4 free on each secure node, but one is alice's
    assert live.job(third).state == "queued"


def test_backfill_starts_a_short_job_around_a_reservation_but_not_a_long_one(
    ctx: ServiceContext,
) -> None:
    live = Live(ctx)
    first = live.submit(time_limit_s=7200)
    live.run()
    big = live.submit(nodes=2, time_limit_s=3600)
    long_job = live.submit(time_limit_s=3 * 3600)
    short_job = live.submit(time_limit_s=3600)
    report = live.run()
    assert report.placed == [short_job]
    assert report.waiting[big].startswith("reserved: starts by ")
    assert live.job(big).pending_reason == report.waiting[big]  # what `pnyx job show` prints
    assert "lab-gpu-r000-n000" in report.waiting[big]
    assert live.job(long_job).state == "queued" and long_job in report.waiting
    placed = next(h for h in live.job(short_job).history if h.state == "placed")
    assert "backfilled around a reservation" in placed.reason
    assert live.job(short_job).pending_reason is None
    assert set(live.engine_nodes(short_job)).isdisjoint(live.engine_nodes(first))


def test_an_under_served_member_preempts_an_over_served_preemptible_job(
    ctx: ServiceContext,
) -> None:
    policy = PreemptionPolicy(judge=Judge.ALLOCATION, grace_s=60, min_wait_s=0, min_gain_s=0)
    only_open = ("lab-gpu-r000-n000", "lab-gpu-r000-n001")
    live = Live(ctx, {"lab-gpu": only_open}, DispatchConfig(preemption=policy))
    kept = live.submit(time_limit_s=3600)
    victim = live.submit(time_limit_s=3600, preemptible=True, checkpoint_signal="USR1", grace_s=30)
    live.run()
    assert live.job(kept).state == live.job(victim).state == "running"
    victim_node = live.engine_nodes(victim)
    wanted = live.submit("bob", time_limit_s=600)
    first = live.run()
    assert first.preempting == [victim]
    assert first.waiting[wanted].startswith("reserved: ")
    notice = live.job(victim).history[-1]
    assert notice.state == "running" and notice.reason.startswith("preempting: checkpoint signal")
    assert wanted in notice.reason and "member de is above its share" in notice.reason
    assert "checkpointing" in live.engines["lab-gpu"].logs(
        run_key(victim, 0, store_namespace(ctx, OPERATOR))
    )
    assert live.run().preempting == []  # signalled once; nothing happens before the grace
    live.state = DispatchState()  # a restart: the notice on the record is carried out
    live.later(61)
    second = live.run()
    assert victim in second.requeued and wanted in second.placed
    view = live.job(victim)
    states = [h.state for h in view.history]
    assert states[-3:] == ["preempted", "requeued", "queued"]
    preempted = next(h for h in reversed(view.history) if h.state == "preempted")
    assert f"to make room for job {wanted}" in preempted.reason
    assert live.engine_nodes(wanted) == victim_node
    assert live.job(kept).state == "running"  # not preemptible: never a victim
    assert any(u.job_id == victim for u in _usage(ctx))  # the preempted run was charged
    assert check_replay(ctx.db).ok


def _usage(ctx: ServiceContext) -> list[object]:
    from pnyx.services import accounting

    return list(accounting.list_usage(ctx))


def test_never_over_allocates_across_passes(ctx: ServiceContext) -> None:
    live = Live(ctx)
    ids = [live.submit(accelerators_per_node=n, time_limit_s=900) for n in (4, 2, 8, 2, 4, 6)]
    ids += [live.submit(nodes=2, accelerators_per_node=4, time_limit_s=900)]
    engine = live.engines["lab-gpu"]
    for step in range(8):
        live.run()
        used: dict[str, int] = {}
        for job_id in ids:
            view = live.job(job_id)
            assert view.state in ("queued", "running", "succeeded"), view.state
            if view.state == "running":
                for node in live.engine_nodes(job_id):
                    used[node] = used.get(node, 0) + view.accelerators_per_node
        assert all(v <= 8 for v in used.values()), used
        assert all(not n.startswith("lab-gpu-r001") for n in used)  # CL-1: open pod only
        if step % 2:  # let the oldest running job end
            running = [j for j in ids if live.job(j).state == "running"]
            key = run_key(running[0], 0, store_namespace(ctx, OPERATOR))
            engine.finish(key)
        live.later(10)
    done = [live.job(j).state for j in ids]
    assert done.count("succeeded") >= 3
