"""Jobs: submit, list, show, cancel, and read the log (the log is the submitter's and the
operators' only; env values are hidden from everyone else)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict

from pnyx.api.deps import Caller, Ctx
from pnyx.services import jobs as svc
from pnyx.services.jobs_dto import JobLogView, JobRequest, JobView

router = APIRouter(prefix="/api/v1", tags=["jobs"])


class CancelIn(BaseModel):
    """Why a job is cancelled."""

    model_config = ConfigDict(extra="forbid")
    reason: str


@router.post("/jobs", status_code=status.HTTP_201_CREATED)
def submit_job(body: JobRequest, ctx: Ctx, actor: Caller) -> JobView:
    """Submit a job (the project's researchers, operators); 201 once it is recorded."""
    return svc.submit_job(ctx, actor, body)


@router.get("/jobs")
def list_jobs(
    ctx: Ctx,
    actor: Caller,
    state: Annotated[list[str] | None, Query(description="only these states; repeat")] = None,
    cluster: Annotated[str | None, Query(description="only jobs placed on this cluster")] = None,
) -> list[JobView]:
    """Jobs in submission order."""
    return [svc.visible_to(v, actor) for v in svc.list_jobs(ctx, state, cluster)]


@router.get("/jobs/{job_id}")
def get_job(job_id: str, ctx: Ctx, actor: Caller) -> JobView:
    """One job with its history."""
    return svc.visible_to(svc.get_job(ctx, job_id), actor)


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: str, body: CancelIn, ctx: Ctx, actor: Caller) -> JobView:
    """Cancel a job (its submitter, operators)."""
    return svc.visible_to(svc.cancel_job(ctx, actor, job_id, body.reason), actor)


@router.get("/jobs/{job_id}/logs")
def job_logs(job_id: str, ctx: Ctx, actor: Caller) -> JobLogView:
    """The kept tail of a job's log (its submitter, operators)."""
    return svc.get_job_log(ctx, actor, job_id)
