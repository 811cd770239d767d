"""The jobs part of ``pnyx demo``: a few short jobs of awarded projects really run and finish.

Each job is submitted by its project's researcher, brokered and placed by the dispatcher
(:func:`pnyx.services.dispatch.dispatch_once`), run by the engine (the ``local`` backend's
processes, or Slurm), and its usage charged to the project's award. One job exits non-zero on
purpose, to show that exit codes and logs are kept. Jobs are named ``demo-<label>-<n>``: running
the demo again with the same label submits nothing new and only waits for what is still
running, so a second run records no event.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pnyx.backends.base import Backend
from pnyx.domain.identity import Actor, Role
from pnyx.domain.jobs import JobState
from pnyx.services import accounting, awards, jobs
from pnyx.services.context import ServiceContext
from pnyx.services.dispatch import DispatchConfig, DispatchState, dispatch_once
from pnyx.services.jobs_dto import JobRequest, JobView

SYSTEM = Actor.system()
# (what it shows, acceptable types, accelerators, argv)
DEMO_JOBS: tuple[tuple[str, tuple[str, ...], int, tuple[str, ...]], ...] = (
    (
        "hello",
        ("h100",),
        1,
        ("sh", "-c", 'echo "hello from $PNYX_JOB_ID on $(hostname)"'),
    ),
    (
        "slots",
        ("h100", "h200"),
        2,
        ("sh", "-c", 'echo "accelerators handed out: $CUDA_VISIBLE_DEVICES"; sleep 1'),
    ),
    (
        "steps",
        ("h100",),
        1,
        ("sh", "-c", 'for s in 1 2 3; do echo "step $s loss 0.$((9 - s))"; done'),
    ),
    ("fails", ("h100",), 1, ("sh", "-c", 'echo "dataset missing" >&2; exit 3')),
)


def run_jobs_demo(
    ctx: ServiceContext,
    backends: Mapping[str, Backend],
    label: str,
    timeout_s: float = 60.0,
) -> dict[str, Any]:
    """Submit the demo jobs (once per ``label``), dispatch until they end; a summary."""
    mine = _submit_missing(ctx, label)
    state, config = DispatchState(), DispatchConfig()
    deadline = time.monotonic() + timeout_s
    while True:
        views = [jobs.get_job(ctx, job_id) for job_id in mine]
        if all(JobState(v.state).final for v in views) or time.monotonic() > deadline:
            break
        dispatch_once(ctx, SYSTEM, backends, state, config)
        time.sleep(0.2)
    return {
        "backend": label,
        "clusters": sorted(backends),
        "jobs": [_line(v) for v in views],
        "all_final": all(JobState(v.state).final for v in views),
        "usage_accel_seconds": _charged(ctx, mine),
    }


def _submit_missing(ctx: ServiceContext, label: str) -> list[str]:
    existing = {v.name: v.job_id for v in jobs.list_jobs(ctx) if v.name}
    owners = [a for a in awards.list_awards(ctx) if a.hours.get("h100", 0) > 0]
    if not owners:
        return []
    out = []
    for n, (what, types, accelerators, argv) in enumerate(DEMO_JOBS, start=1):
        name = f"demo-{label}-{n}-{what}"
        if name in existing:
            out.append(existing[name])
            continue
        award = owners[(n - 1) % len(owners)]
        request = JobRequest(
            name=name,
            project_id=award.project_id,
            award_id=award.award_id,
            command=list(argv),
            accelerator_types=[t for t in types if award.hours.get(t, 0) > 0],
            accelerators_per_node=accelerators,
            time_limit_s=120,
            containment=award.containment,
        )
        researcher = Actor(f"res-{award.member_id}", frozenset({Role.RESEARCHER}), award.member_id)
        out.append(jobs.submit_job(ctx, researcher, request).job_id)
    return out


def _line(view: JobView) -> dict[str, Any]:
    return {
        "job_id": view.job_id,
        "name": view.name,
        "project": view.project_id,
        "state": view.state,
        "reason": view.state_reason,
        "cluster": view.cluster,
        "accelerator_type": view.accelerator_type,
        "exit_code": view.exit_code,
    }


def _charged(ctx: ServiceContext, job_ids: list[str]) -> int:
    wanted = set(job_ids)
    return sum(u.accel_seconds for u in accounting.list_usage(ctx) if u.job_id in wanted)
