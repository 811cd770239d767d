"""The jobs API and portal pages: submit (201), list, show, cancel, logs; env and logs stay
private; refusals keep their status and write nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.integration.jobs_setup import OPERATOR, JobWorld, build_world, request

from pnyx.api.app import create_app
from pnyx.domain.identity import NewPrincipal, Role
from pnyx.services import identity
from pnyx.services import jobs as svc
from pnyx.services.context import ServiceContext
from pnyx.settings import Settings
from pnyx.store import tables as t


@pytest.fixture
def client(ctx: ServiceContext) -> TestClient:
    return TestClient(create_app(Settings(), ctx=ctx))


@pytest.fixture
def world(ctx: ServiceContext) -> JobWorld:
    return build_world(ctx)


def bearer(ctx: ServiceContext, pid: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {identity.issue_token(ctx, OPERATOR, pid).token}"}


def event_count(ctx: ServiceContext) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)


def body(world: JobWorld, **overrides: Any) -> dict[str, Any]:
    return request(world, **overrides).model_dump()


def test_submit_show_list_cancel_over_http(
    client: TestClient, ctx: ServiceContext, world: JobWorld
) -> None:
    alice, bob = bearer(ctx, "alice"), bearer(ctx, "bob")
    made = client.post("/api/v1/jobs", json=body(world), headers=alice)
    assert made.status_code == 201, made.text
    job = made.json()
    assert (job["job_id"], job["state"], job["env"]) == (
        "j-000001", "queued", {"HF_TOKEN": "secret-value"},
    )  # fmt: skip
    assert client.get("/api/v1/jobs/j-000001").json()["env"] is None
    assert client.get("/api/v1/jobs/j-000001", headers=bob).json()["env"] is None
    assert client.get("/api/v1/jobs/j-000001", headers=alice).json()["env"]["HF_TOKEN"] == (
        "secret-value"
    )
    client.post("/api/v1/jobs", json=body(world, time_limit_s=60), headers=alice)
    svc.place_job(ctx, OPERATOR, "j-000002", "lab-gpu", "h100", "fits")
    listed = client.get("/api/v1/jobs", params={"state": ["placed"]}).json()
    assert [j["job_id"] for j in listed] == ["j-000002"]
    assert [j["job_id"] for j in client.get("/api/v1/jobs").json()] == ["j-000001", "j-000002"]
    refused = client.post("/api/v1/jobs/j-000001/cancel", json={"reason": "x"}, headers=bob)
    assert refused.status_code == 403
    gone = client.post("/api/v1/jobs/j-000001/cancel", json={"reason": "oops"}, headers=alice)
    assert gone.status_code == 200 and gone.json()["state"] == "cancelled"
    asked = client.post("/api/v1/jobs/j-000002/cancel", json={"reason": "stop"}, headers=alice)
    assert asked.json()["cancel_requested"] is True and asked.json()["state"] == "placed"
    assert client.get("/api/v1/jobs/j-000404").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "status", "words"),
    [
        ({"accelerator_types": ["gaudi3"]}, 422, "none of the job's types"),
        ({"nodes": 2, "time_limit_s": 7 * 3600}, 403, "hours left"),
        ({"command": []}, 422, "command"),
        ({"containment": "CL-4"}, 422, "certified for CL-4"),
    ],
)
def test_refusals_keep_their_status_and_write_nothing(
    client: TestClient,
    ctx: ServiceContext,
    world: JobWorld,
    overrides: dict[str, Any],
    status: int,
    words: str,
) -> None:
    alice = bearer(ctx, "alice")
    before = event_count(ctx)
    answer = client.post("/api/v1/jobs", json=body(world, **overrides), headers=alice)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["detail"]
    assert event_count(ctx) == before


def test_anonymous_callers_cannot_submit_and_unknown_fields_are_refused(
    client: TestClient, ctx: ServiceContext, world: JobWorld
) -> None:
    assert client.post("/api/v1/jobs", json=body(world)).status_code == 403
    bad = {**body(world), "gpus": 8}
    answer = client.post("/api/v1/jobs", json=bad, headers=bearer(ctx, "alice"))
    assert answer.status_code == 422 and "gpus" in answer.text


def test_logs_are_for_the_submitter_and_operators(
    client: TestClient, ctx: ServiceContext, world: JobWorld
) -> None:
    job = svc.submit_job(ctx, world.alice, request(world))
    svc.record_job_log(ctx, OPERATOR, job.job_id, "loss 1.5\n")
    identity.create_principal(ctx, OPERATOR, NewPrincipal("ops", "Ops", frozenset({Role.OPERATOR})))
    path = f"/api/v1/jobs/{job.job_id}/logs"
    assert client.get(path, headers=bearer(ctx, "alice")).json()["text"] == "loss 1.5\n"
    assert client.get(path, headers=bearer(ctx, "ops")).json()["size"] == 9
    assert client.get(path, headers=bearer(ctx, "bob")).status_code == 403
    assert client.get(path).status_code == 403


def test_jobs_pages_show_queue_recent_and_history(
    client: TestClient, ctx: ServiceContext, world: JobWorld
) -> None:
    assert "No job is waiting or running" in client.get("/jobs").text
    first = svc.submit_job(ctx, world.alice, request(world, name="pretrain"))
    second = svc.submit_job(ctx, world.alice, request(world, time_limit_s=60))
    svc.place_job(ctx, OPERATOR, first.job_id, "lab-gpu", "h100", "free h100 on lab-gpu")
    svc.cancel_job(ctx, world.alice, second.job_id, "not needed")
    page = client.get("/jobs").text
    queue, recent = page.split("Recent jobs")
    assert f'data-job="{first.job_id}"' in queue and "lab-gpu" in queue
    assert f'data-job="{second.job_id}"' in recent and "cancelled" in recent
    assert 'href="/jobs"' in page  # in the navigation
    detail = client.get(f"/jobs/{first.job_id}").text
    assert "free h100 on lab-gpu" in detail and "pretrain" in detail
    assert "private to its submitter" in detail and "secret-value" not in detail
    missing = client.get("/jobs/j-404", headers={"accept": "text/html"})
    assert missing.status_code == 404
