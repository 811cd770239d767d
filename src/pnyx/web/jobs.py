"""Portal pages of jobs: the queue and recent jobs, and one job with its history.

The portal is public: a job's environment shows its variable names only, and logs are not shown
(they are the submitter's and the operators', through the API and CLI).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from pnyx.domain.identity import Actor
from pnyx.domain.jobs import ACTIVE, JobState
from pnyx.services import jobs as svc
from pnyx.services.dispatch_queue import queue_view
from pnyx.web.routes import Ctx, member_names, render

router = APIRouter(include_in_schema=False)
RECENT = 100


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(ctx: Ctx) -> HTMLResponse:
    """Jobs waiting or running (submission order) with why each queued one waits, the queue
    by member and preferred type and what runs by site, cluster and type; then the most
    recent finished jobs."""
    queue = svc.list_jobs(ctx, [s.value for s in ACTIVE])
    ended = [s.value for s in JobState if s not in ACTIVE]
    recent = svc.list_jobs(ctx, ended, newest_first=True, limit=RECENT)
    counts: dict[str, int] = {}
    for job in queue:
        counts[job.state] = counts.get(job.state, 0) + 1
    return render(
        "jobs.html",
        active="/jobs",
        queue=queue,
        recent=recent,
        finished_total=svc.count_jobs(ctx, ended),
        counts=counts,
        grouped=queue_view(ctx),
        members=member_names(ctx),
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(ctx: Ctx, job_id: str) -> HTMLResponse:
    """One job: its request, placement, exit code and every state it went through, and why."""
    job = svc.visible_to(svc.get_job(ctx, job_id), Actor.public())
    return render("job.html", active="/jobs", job=job)
