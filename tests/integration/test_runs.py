"""Runs: registered with their datasets and metrics, listed per dataset version, replayable."""

from __future__ import annotations

import pytest

from pnyx.domain import models as m
from pnyx.domain.identity import Actor
from pnyx.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from pnyx.services import runs
from pnyx.services.context import ServiceContext
from pnyx.store.replay import check_replay

SYSTEM = Actor.system()
SHA = "ab" * 32


def run_event(
    run_id: str, datasets: list[tuple[str, int]], job_id: str | None = None
) -> m.RunRegistered:
    return m.RunRegistered(
        run_id=run_id,
        job_id=job_id,
        project_id="tiny-stories-eu",
        award_id=None,
        resolution_id=None,
        containment="CL-1",
        manifest_sha256=SHA,
        order_sha256="cd" * 32,
        code_version="0.1.0+test",
        world_size=1,
        hardware="cpu x2",
        steps=4,
        config={"lr": 0.003, "layers": 2, "seed": 7},
        datasets=[{"dataset": d, "version": v, "manifest_sha256": "ef" * 32} for d, v in datasets],
    )


METRICS = [
    {"step": i, "loss": 5.0 - 0.25 * i, "tokens_per_s": 1234.5678, "mfu": 0.0012345, "lr": 0.003}
    for i in range(1, 5)
]


def test_runs_using_dataset_lists_only_matching_versions(ctx: ServiceContext) -> None:
    assert runs.runs_using_dataset(ctx, "pydocs", 1) == []
    runs.record_run(ctx, SYSTEM, run_event("run-a", [("pydocs", 1), ("stdlib", 1)]), METRICS)
    runs.record_run(ctx, SYSTEM, run_event("run-b", [("pydocs", 2)]))
    assert [r.run_id for r in runs.runs_using_dataset(ctx, "pydocs", 1)] == ["run-a"]
    assert [r.run_id for r in runs.runs_using_dataset(ctx, "pydocs", 2)] == ["run-b"]
    assert [r.run_id for r in runs.runs_using_dataset(ctx, "stdlib", 1)] == ["run-a"]
    assert runs.runs_using_dataset(ctx, "stdlib", 2) == []


def test_metrics_recorded_in_order_and_replay_agrees(ctx: ServiceContext) -> None:
    view = runs.record_run(ctx, SYSTEM, run_event("run-a", [("pydocs", 1)], "job-1"), METRICS)
    assert view.metric_points == 4 and view.last_step == 4 and view.last_loss == 4.0
    assert view.config == {"lr": 0.003, "layers": 2, "seed": 7}
    added = runs.report_metrics(ctx, SYSTEM, "run-a", [*METRICS, {"step": 5, "loss": 3.5}])
    assert added == 1
    points = runs.run_metrics(ctx, "run-a")
    assert [p.step for p in points] == [1, 2, 3, 4, 5]
    assert points[0].mfu == 0.0012345 and points[0].tokens_per_s == 1234.57
    assert [p.step for p in runs.run_metrics(ctx, "run-a", after_step=3)] == [4, 5]
    assert runs.get_run(ctx, "run-a").last_step == 5
    report = check_replay(ctx.db)
    assert report.ok, report.as_dict()


def test_refusals(ctx: ServiceContext) -> None:
    runs.record_run(ctx, SYSTEM, run_event("run-a", [("pydocs", 1)], "job-1"))
    with pytest.raises(ConflictError, match="already registered"):
        runs.record_run(ctx, SYSTEM, run_event("run-a", [("pydocs", 1)]))
    with pytest.raises(ConflictError, match="job job-1"):
        runs.record_run(ctx, SYSTEM, run_event("run-b", [("pydocs", 1)], "job-1"))
    with pytest.raises(PermissionDeniedError):
        runs.record_run(ctx, Actor.public(), run_event("run-c", [("pydocs", 1)]))
    with pytest.raises(InvalidInputError, match="no step or loss"):
        runs.report_metrics(ctx, SYSTEM, "run-a", [{"loss": 1.0}])
    with pytest.raises(NotFoundError):
        runs.get_run(ctx, "nope")
    assert [r.run_id for r in runs.list_runs(ctx)] == ["run-a"]
