"""The allocation API: operators write, the public reads, bad input is 422 and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pnyx.api.app import create_app
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.services import identity, programmes
from pnyx.services.context import ServiceContext
from pnyx.settings import Settings
from pnyx.store import tables as t

CALL: dict[str, Any] = {
    "call_id": "c1",
    "programme_id": "open-models",
    "title": "Open models",
    "budget": {"h100": 1000},
    "period_start": "2026-02-01",
    "period_end": "2026-12-31",
    "deadline": "2026-01-01T01:00:00Z",
    "review_deadline": "2026-01-01T02:00:00Z",
}


@pytest.fixture
def client(ctx: ServiceContext) -> TestClient:
    return TestClient(create_app(Settings(), ctx=ctx))


def headers(ctx: ServiceContext, pid: str, role: Role, member: str | None = None) -> dict[str, str]:
    identity.create_principal(
        ctx, Actor.system(), NewPrincipal(pid, pid, frozenset({role}), member)
    )
    return {"Authorization": f"Bearer {identity.issue_token(ctx, Actor.system(), pid).token}"}


def event_count(ctx: ServiceContext) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)


def test_call_and_proposal_over_http(client: TestClient, ctx: ServiceContext) -> None:
    identity.admit_member(ctx, Actor.system(), "de", "Germany")
    programmes.ensure_programmes(ctx)
    op = headers(ctx, "op", Role.OPERATOR)
    res = headers(ctx, "ada", Role.RESEARCHER, "de")
    assert client.post("/api/v1/calls", json=CALL, headers=op).status_code == 201
    assert client.post("/api/v1/calls", json=CALL, headers=res).status_code == 403
    body = {"project_id": "p1", "title": "T", "abstract": "A", "requested": {"h100": 10}}
    made = client.post("/api/v1/calls/c1/proposals", json=body, headers=res)
    assert made.status_code == 201, made.text
    assert made.json()["member_id"] == "de"
    listed = client.get("/api/v1/calls/c1/proposals").json()
    assert [p["proposal_id"] for p in listed] == ["c1.001"]
    assert len(client.get("/api/v1/programmes").json()) == 5
    assert client.get("/api/v1/awards").json() == []
    assert client.get("/api/v1/billing-weights").json()["weights"]["h200"] == "1.3"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/calls", {**CALL, "budget": {"h999": 10}}),
        ("/api/v1/calls", {**CALL, "budget": {"h100": -1}}),
        ("/api/v1/calls", {**CALL, "review_deadline": "2026-01-01T00:00:00Z"}),
        ("/api/v1/calls", {**CALL, "threshold": "9"}),
        ("/api/v1/calls", {**CALL, "unknown": 1}),
        ("/api/v1/programmes", {"programme_id": "Bad Id", "name": "x"}),
        (
            "/api/v1/usage",
            {
                "project_id": "p",
                "accelerator_type": "h100",
                "accel_seconds": 1,
                "start": "later",
                "end": "2026-01-01T00:00:00Z",
            },
        ),
        ("/api/v1/statements/nope/x", None),
    ],
)
def test_bad_input_is_422_and_writes_nothing(
    client: TestClient, ctx: ServiceContext, path: str, body: dict[str, Any] | None
) -> None:
    programmes.ensure_programmes(ctx)
    op = headers(ctx, "op", Role.OPERATOR)
    before = event_count(ctx)
    resp = client.get(path) if body is None else client.post(path, json=body, headers=op)
    assert resp.status_code == 422, resp.text
    assert event_count(ctx) == before
