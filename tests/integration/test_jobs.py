"""Job services against SQLite and PostgreSQL: the life cycle, admission refusals (each with its
reason, nothing written), cancellation, placement checks, private env and logs, replay."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.integration.jobs_setup import (
    OPERATOR,
    JobWorld,
    add_dataset,
    build_world,
    request,
    set_time,
)

from pnyx.domain.identity import Actor, Role
from pnyx.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PnyxError,
)
from pnyx.services import accounting
from pnyx.services import jobs as svc
from pnyx.services.context import ServiceContext
from pnyx.services.logsources import DbLogSource
from pnyx.services.verify import PublicView, verify_log
from pnyx.store import tables as t
from pnyx.store.replay import check_replay


def event_count(ctx: ServiceContext) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)


@pytest.fixture
def world(ctx: ServiceContext) -> JobWorld:
    return build_world(ctx)


def run_to(ctx: ServiceContext, job_id: str, *states: str) -> None:
    for state in states:
        svc.transition_job(ctx, OPERATOR, job_id, state, f"engine: {state}")


def test_a_job_goes_through_its_whole_life_and_replay_agrees(
    ctx: ServiceContext, world: JobWorld, tmp_path: Path
) -> None:
    ref = add_dataset(ctx, tmp_path)
    with pytest.raises(InvalidInputError, match="no dataset version web-text@2"):
        svc.submit_job(ctx, world.alice, request(world, datasets=["web-text@2"]))
    extra = {"checkpoint_signal": "USR1", "grace_s": 60, "datasets": [ref]}
    job = svc.submit_job(ctx, world.alice, request(world, **extra))
    assert job.datasets == ["web-text@1"]
    assert (job.job_id, job.state, job.submitter, job.runs) == ("j-000001", "queued", "alice", 0)
    assert job.env == {"HF_TOKEN": "secret-value"} and job.checkpoint_signal == "USR1"
    placed = svc.place_job(ctx, OPERATOR, job.job_id, "lab-gpu", "h100", "free h100 on lab-gpu")
    assert (placed.state, placed.cluster, placed.accelerator_type) == ("placed", "lab-gpu", "h100")
    svc.transition_job(ctx, OPERATOR, job.job_id, "starting", "submitted", backend_job_id="77")
    svc.transition_job(
        ctx, OPERATOR, job.job_id, "running", "engine: running", nodes=["lab-gpu-r000-n000"]
    )
    run_to(ctx, job.job_id, "completing")
    svc.transition_job(ctx, OPERATOR, job.job_id, "succeeded", "exit 0", exit_code=0)
    done = svc.get_job(ctx, job.job_id)
    assert (done.state, done.exit_code, done.backend_job_id, done.runs) == ("succeeded", 0, "77", 1)
    assert done.allocated_nodes == ["lab-gpu-r000-n000"]
    assert done.started_at is not None and done.ended_at is not None
    assert done.submitted_at < done.started_at < done.ended_at
    assert [(h.state, h.reason) for h in done.history] == [
        ("queued", "admitted"),
        ("placed", "free h100 on lab-gpu"),
        ("starting", "submitted"),
        ("running", "engine: running"),
        ("completing", "engine: completing"),
        ("succeeded", "exit 0"),
    ]
    report = check_replay(ctx.db)
    assert report.ok, report.diffs
    assert report.rows["jobs"] == 1 and report.rows["job_history"] == 6


def test_requeue_starts_a_fresh_run_and_lost_is_failed(
    ctx: ServiceContext, world: JobWorld
) -> None:
    job = svc.submit_job(ctx, world.alice, request(world, preemptible=True))
    svc.place_job(ctx, OPERATOR, job.job_id, "lab-gpu", "h100", "fits")
    svc.transition_job(ctx, OPERATOR, job.job_id, "running", "up", backend_job_id="1", nodes=["a"])
    run_to(ctx, job.job_id, "preempted", "requeued")
    back = svc.transition_job(ctx, OPERATOR, job.job_id, "queued", "back to the broker")
    assert (back.cluster, back.backend_job_id, back.allocated_nodes) == (None, None, [])
    svc.place_job(ctx, OPERATOR, job.job_id, "lab-gpu", "h100", "fits again")
    svc.transition_job(ctx, OPERATOR, job.job_id, "running", "up", backend_job_id="2")
    with pytest.raises(ConflictError, match="from running to queued"):
        svc.transition_job(ctx, OPERATOR, job.job_id, "queued", "no")
    lost = svc.transition_job(ctx, OPERATOR, job.job_id, "failed", "lost: node vanished")
    assert (lost.state, lost.runs, lost.backend_job_id) == ("failed", 2, "2")
    assert lost.state_reason.startswith("lost")
    assert check_replay(ctx.db).ok


def test_a_wrong_transition_writes_nothing(ctx: ServiceContext, world: JobWorld) -> None:
    job = svc.submit_job(ctx, world.alice, request(world))
    before = event_count(ctx)
    with pytest.raises(ConflictError, match="from queued to succeeded"):
        svc.transition_job(ctx, OPERATOR, job.job_id, "succeeded", "too early")
    with pytest.raises(InvalidInputError, match="unknown state"):
        svc.transition_job(ctx, OPERATOR, job.job_id, "exploded", "x")
    with pytest.raises(PermissionDeniedError):
        svc.transition_job(ctx, world.alice, job.job_id, "cancelled", "not an operator")
    with pytest.raises(NotFoundError):
        svc.transition_job(ctx, OPERATOR, "j-999999", "running", "x")
    assert event_count(ctx) == before


# --- admission -----------------------------------------------------------------------------------

REFUSALS: list[tuple[str, dict[str, Any], type[PnyxError], str]] = [
    ("unknown project", {"project_id": "nope"}, NotFoundError, "project 'nope' does not exist"),
    ("other project's award", {"award_id": "BETA"}, InvalidInputError, "belongs to project beta"),
    ("unknown award", {"award_id": "c9.001"}, InvalidInputError, "does not exist"),
    ("type not awarded", {"accelerator_types": ["gaudi3"]}, InvalidInputError, "none of the job"),
    ("unknown type", {"accelerator_types": ["h101"]}, InvalidInputError, "accelerator_types"),
    ("no certified cluster", {"containment": "CL-4"}, InvalidInputError, "certified for CL-4"),
    ("gang too large", {"nodes": 5}, InvalidInputError, "with 5 node(s)"),
    ("too many per node", {"accelerators_per_node": 9}, InvalidInputError, "x 9 accelerators"),
    ("no hours left", {"nodes": 2, "time_limit_s": 7 * 3600}, PermissionDeniedError, "hours left"),
    ("empty command", {"command": []}, InvalidInputError, "command"),
    ("unknown dataset", {"datasets": ["nope@1"]}, InvalidInputError, "no dataset version nope@1"),
    ("zero nodes", {"nodes": 0}, InvalidInputError, "nodes"),
    ("no time", {"time_limit_s": 0}, InvalidInputError, "time_limit_s"),
]


@pytest.mark.parametrize(
    ("overrides", "error", "reason"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_admission_refuses_with_a_reason_and_writes_nothing(
    ctx: ServiceContext,
    world: JobWorld,
    overrides: dict[str, Any],
    error: type[PnyxError],
    reason: str,
) -> None:
    if overrides.get("award_id") == "BETA":
        overrides = {**overrides, "award_id": world.award_beta}
    before = event_count(ctx)
    with pytest.raises(error) as raised:
        svc.submit_job(ctx, world.alice, request(world, **overrides))
    assert reason in str(raised.value)
    assert event_count(ctx) == before
    assert svc.list_jobs(ctx) == []


def test_who_may_submit_and_the_project_containment(ctx: ServiceContext, world: JobWorld) -> None:
    with pytest.raises(PermissionDeniedError, match="only its proposers and operators"):
        svc.submit_job(ctx, world.bob, request(world))
    with pytest.raises(PermissionDeniedError, match="needs role"):
        svc.submit_job(ctx, Actor("rev", frozenset({Role.REVIEWER})), request(world))
    beta = {"project_id": "beta", "award_id": world.award_beta, "time_limit_s": 600}
    with pytest.raises(InvalidInputError, match="below the project's CL-2"):
        svc.submit_job(ctx, world.bob, request(world, **beta))
    ok = svc.submit_job(ctx, world.bob, request(world, **beta, containment="CL-2"))
    by_operator = svc.submit_job(ctx, OPERATOR, request(world))
    assert (ok.project_id, by_operator.submitter) == ("beta", "system")


def test_only_types_that_pass_every_check_are_kept(ctx: ServiceContext, world: JobWorld) -> None:
    wide = {"accelerator_types": ["a100", "h100", "mi300x"], "accelerators_per_node": 2}
    job = svc.submit_job(ctx, world.alice, request(world, **wide, time_limit_s=2 * 3600))
    assert job.accelerator_types == ["h100", "mi300x"]
    assert job.history[0].reason == "admitted; acceptable types dropped (a100: not awarded)"
    later = svc.submit_job(ctx, world.alice, request(world, **wide, time_limit_s=6 * 3600))
    assert later.accelerator_types == ["h100"]  # 12 h of mi300x asked, the award has 10
    assert "mi300x: not enough hours left" in later.state_reason
    eight = svc.submit_job(ctx, world.alice, request(world, **{**wide, "accelerators_per_node": 8}))
    assert "mi300x: no certified cluster" in eight.state_reason
    with pytest.raises(InvalidInputError, match="not acceptable"):
        svc.place_job(ctx, OPERATOR, job.job_id, "lab-gpu", "a100", "dropped at admission")
    assert check_replay(ctx.db).ok


def test_cl3_jobs_go_to_the_certified_partition_only(ctx: ServiceContext, world: JobWorld) -> None:
    job = svc.submit_job(ctx, world.alice, request(world, containment="CL-3", nodes=2))
    assert job.state == "queued"
    with pytest.raises(InvalidInputError, match="certified for CL-3 with 3 node"):
        svc.submit_job(ctx, world.alice, request(world, containment="CL-3", nodes=3))


def test_award_period_is_enforced(ctx: ServiceContext, world: JobWorld) -> None:
    set_time(ctx, datetime(2027, 1, 5, tzinfo=UTC))
    with pytest.raises(ConflictError, match="runs from 2026-02-01 to 2026-12-31"):
        svc.submit_job(ctx, world.alice, request(world))


def test_queued_jobs_reserve_their_hours_until_they_end(
    ctx: ServiceContext, world: JobWorld
) -> None:
    big = {"nodes": 1, "accelerators_per_node": 8, "time_limit_s": 6 * 3600}  # 48 h of 100
    first = svc.submit_job(ctx, world.alice, request(world, **big))
    svc.submit_job(ctx, world.alice, request(world, **big))
    with pytest.raises(PermissionDeniedError, match="time limits count as used"):
        svc.submit_job(ctx, world.alice, request(world, **big))
    svc.cancel_job(ctx, world.alice, first.job_id, "make room")
    third = svc.submit_job(ctx, world.alice, request(world, **big))
    accounting.record_usage(
        ctx, OPERATOR, "alpha", "h100", 2 * 3600, "2026-02-02T00:00:00Z", "2026-02-02T01:00:00Z"
    )  # 98 h now spoken for: the recorded usage counts too
    with pytest.raises(PermissionDeniedError, match="hours left"):
        svc.submit_job(ctx, world.alice, request(world, **big))
    assert third.job_id == "j-000003"


def test_a_job_without_accelerators_needs_no_hours(ctx: ServiceContext, world: JobWorld) -> None:
    job = svc.submit_job(
        ctx, world.alice, request(world, accelerators_per_node=0, time_limit_s=10**7)
    )
    assert job.accelerators_per_node == 0


# --- cancel, place, list ------------------------------------------------------------------------


def test_cancel_queued_now_running_through_the_dispatcher(
    ctx: ServiceContext, world: JobWorld
) -> None:
    queued = svc.submit_job(ctx, world.alice, request(world))
    gone = svc.cancel_job(ctx, world.alice, queued.job_id, "typo in the command")
    assert gone.state == "cancelled" and "typo in the command" in gone.state_reason
    running = svc.submit_job(ctx, world.alice, request(world))
    svc.place_job(ctx, OPERATOR, running.job_id, "lab-gpu", "h100", "fits")
    run_to(ctx, running.job_id, "running")
    before = event_count(ctx)
    with pytest.raises(PermissionDeniedError, match="only its submitter"):
        svc.cancel_job(ctx, world.bob, running.job_id, "not mine")
    assert event_count(ctx) == before
    asked = svc.cancel_job(ctx, world.alice, running.job_id, "enough")
    assert (asked.state, asked.cancel_requested) == ("running", True)
    assert asked.cancel_reason == "alice: enough"
    with pytest.raises(ConflictError, match="already requested"):
        svc.cancel_job(ctx, OPERATOR, running.job_id, "again")
    final = svc.transition_job(ctx, OPERATOR, running.job_id, "cancelled", "scancel done")
    assert (final.state, final.cancel_requested) == ("cancelled", False)
    with pytest.raises(ConflictError, match="already cancelled"):
        svc.cancel_job(ctx, world.alice, running.job_id, "again")
    assert check_replay(ctx.db).ok


def test_placement_must_be_certified_and_acceptable(ctx: ServiceContext, world: JobWorld) -> None:
    job = svc.submit_job(ctx, world.alice, request(world, accelerator_types=["h100", "mi300x"]))
    before = event_count(ctx)
    with pytest.raises(ConflictError, match="cluster lab-mix has no CL-1"):
        svc.place_job(ctx, OPERATOR, job.job_id, "lab-mix", "h100", "wrong cluster")
    with pytest.raises(InvalidInputError, match="not acceptable"):
        svc.place_job(ctx, OPERATOR, job.job_id, "lab-gpu", "gaudi3", "wrong type")
    with pytest.raises(PermissionDeniedError):
        svc.place_job(ctx, world.alice, job.job_id, "lab-gpu", "h100", "not an operator")
    assert event_count(ctx) == before
    small = svc.submit_job(
        ctx, world.alice, request(world, accelerator_types=["mi300x"], accelerators_per_node=2)
    )
    assert (
        svc.place_job(ctx, OPERATOR, small.job_id, "lab-mix", "mi300x", "ok").cluster == "lab-mix"
    )


def test_list_filters_by_state_and_cluster(ctx: ServiceContext, world: JobWorld) -> None:
    ids = [svc.submit_job(ctx, world.alice, request(world, time_limit_s=600)).job_id for _ in "abc"]
    svc.place_job(ctx, OPERATOR, ids[1], "lab-gpu", "h100", "fits")
    svc.cancel_job(ctx, world.alice, ids[2], "no")
    assert [j.job_id for j in svc.list_jobs(ctx)] == ids
    assert [j.job_id for j in svc.list_jobs(ctx, ["queued", "placed"])] == ids[:2]
    assert [j.job_id for j in svc.list_jobs(ctx, cluster="lab-gpu")] == [ids[1]]
    assert [len(j.history) for j in svc.list_jobs(ctx, ["placed"])] == [2]
    newest = svc.list_jobs(ctx, newest_first=True, limit=2)
    assert [(j.job_id, len(j.history)) for j in newest] == [(ids[2], 2), (ids[1], 2)]
    assert (svc.count_jobs(ctx), svc.count_jobs(ctx, ["queued", "cancelled"])) == (3, 2)
    with pytest.raises(InvalidInputError, match="unknown state 'done'"):
        svc.list_jobs(ctx, ["done"])


# --- privacy ------------------------------------------------------------------------------------


def test_env_and_logs_are_private_to_submitter_and_operators(
    ctx: ServiceContext, world: JobWorld
) -> None:
    job = svc.submit_job(ctx, world.alice, request(world))
    assert svc.visible_to(job, world.alice).env == {"HF_TOKEN": "secret-value"}
    assert svc.visible_to(job, OPERATOR).env == {"HF_TOKEN": "secret-value"}
    assert svc.visible_to(job, Actor.public()).env is None
    assert svc.visible_to(job, world.bob).env is None
    assert svc.get_job_log(ctx, world.alice, job.job_id).text == ""
    log = "step 1 loss 2.0\n" * 5000 + "token=hunter2\n"
    svc.record_job_log(ctx, OPERATOR, job.job_id, log)
    got = svc.get_job_log(ctx, world.alice, job.job_id)
    assert got.truncated and got.size == 65_536 and got.text.endswith("token=hunter2\n")
    assert log.endswith(got.text)
    with pytest.raises(PermissionDeniedError, match="private"):
        svc.get_job_log(ctx, world.bob, job.job_id)
    with pytest.raises(PermissionDeniedError):
        svc.record_job_log(ctx, world.alice, job.job_id, "forged")
    with ctx.db.read() as conn:
        public = [
            json.loads(e)
            for (e,) in conn.execute(select(t.events.c.entry).where(t.events.c.kind.like("job.%")))
        ]
    assert all(
        "secret-value" not in json.dumps(e) and "hunter2" not in json.dumps(e) for e in public
    )
    assert {e["visibility"] for e in public} == {"restricted"}
    assert check_replay(ctx.db).ok


def test_concurrent_submissions_get_distinct_ids(ctx: ServiceContext, world: JobWorld) -> None:
    def submit(_: int) -> list[str]:
        return [
            svc.submit_job(ctx, world.alice, request(world, time_limit_s=60)).job_id
            for _ in range(4)
        ]

    with ThreadPoolExecutor(5) as pool:
        ids = [j for batch in pool.map(submit, range(5)) for j in batch]
    assert sorted(ids) == [f"j-{i:06d}" for i in range(1, 21)]
    assert len(svc.list_jobs(ctx)) == 20


def test_a_verifier_recomputes_the_public_jobs_from_the_public_record(
    ctx: ServiceContext, world: JobWorld
) -> None:
    job = svc.submit_job(ctx, world.alice, request(world))
    svc.place_job(ctx, OPERATOR, job.job_id, "lab-gpu", "h100", "fits")
    svc.transition_job(ctx, OPERATOR, job.job_id, "running", "up", backend_job_id="9")
    svc.record_job_log(ctx, OPERATOR, job.job_id, "private log\n")
    svc.transition_job(ctx, OPERATOR, job.job_id, "failed", "exit 3", exit_code=3)
    assert ctx.log_signer is not None
    view = PublicView("jobs", "/api/v1/jobs", svc.public_jobs)
    report = verify_log(DbLogSource(ctx.db, ctx.log_signer.verifier), views=[view])
    assert report.ok, report.error
    assert report.replayed_views == ["jobs"]
    assert [j.env for j in svc.public_jobs(ctx)] == [None]
