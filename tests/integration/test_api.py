"""The HTTP API: health, OpenAPI, metrics, auth, error mapping, nothing written on bad input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pnyx.api.app import create_app
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.services import events, identity
from pnyx.services.context import ServiceContext
from pnyx.settings import Settings


@pytest.fixture
def client(ctx: ServiceContext) -> TestClient:
    return TestClient(create_app(Settings(), ctx=ctx))


def operator_headers(ctx: ServiceContext) -> dict[str, str]:
    identity.create_principal(
        ctx, Actor.system(), NewPrincipal("op", "Operator", frozenset({Role.OPERATOR}))
    )
    token = identity.issue_token(ctx, Actor.system(), "op").token
    return {"Authorization": f"Bearer {token}"}


def test_health_openapi_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/api/v1/principals" in spec["paths"]
    client.get("/healthz")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "pnyx_log_entries" in metrics.text


def test_operator_creates_principal_over_http(client: TestClient, ctx: ServiceContext) -> None:
    headers = operator_headers(ctx)
    body = {"principal_id": "ada", "name": "Ada", "roles": ["researcher"]}
    resp = client.post("/api/v1/principals", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    assert resp.json()["roles"] == ["researcher"]
    listing = client.get("/api/v1/principals?limit=1", headers=headers).json()
    assert listing["total"] == 2
    assert len(listing["items"]) == 1


def test_anonymous_write_is_forbidden_and_writes_nothing(
    client: TestClient, ctx: ServiceContext
) -> None:
    before = events.event_count(ctx)
    resp = client.post("/api/v1/members", json={"member_id": "de", "name": "Germany"})
    assert resp.status_code == 403
    assert resp.json()["error"] == "permission_denied"
    assert events.event_count(ctx) == before


def test_bad_token_is_401(client: TestClient) -> None:
    resp = client.get("/api/v1/principals", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
    assert resp.json() == {
        "error": "authentication",
        "detail": "the API token is unknown or revoked",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"principal_id": "ada", "name": "Ada", "roles": ["researcher"], "extra": 1}, "extra"),
        ({"principal_id": "ada", "roles": ["researcher"]}, "name"),
        ({"principal_id": "ada", "name": "Ada", "roles": "researcher"}, "roles"),
        ({"principal_id": "ada", "name": "Ada", "roles": ["wizard"]}, "wizard"),
        ({"principal_id": "Bad Id!", "name": "Ada", "roles": ["researcher"]}, "Bad Id!"),
    ],
)
def test_malformed_input_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, ctx: ServiceContext, body: dict[str, object], field: str
) -> None:
    headers = operator_headers(ctx)
    before = events.event_count(ctx)
    resp = client.post("/api/v1/principals", json=body, headers=headers)
    assert resp.status_code == 422
    payload = resp.json()
    assert payload["error"] in {"invalid_input"}
    assert field in payload["detail"]
    assert events.event_count(ctx) == before


def test_conflict_is_409(client: TestClient, ctx: ServiceContext) -> None:
    headers = operator_headers(ctx)
    body = {"member_id": "de", "name": "Germany"}
    assert client.post("/api/v1/members", json=body, headers=headers).status_code == 201
    resp = client.post("/api/v1/members", json=body, headers=headers)
    assert resp.status_code == 409
    assert "already exists" in resp.json()["detail"]


def test_event_stream_pages_and_hides_private_fields(
    client: TestClient, ctx: ServiceContext
) -> None:
    operator_headers(ctx)
    page = client.get("/api/v1/events?limit=10").json()
    assert page["total"] == 2
    kinds = [e["kind"] for e in page["items"]]
    assert kinds == ["principal.created", "token.issued"]
    token_event = page["items"][1]
    assert "token_hash" not in token_event["body"]
    assert len(token_event["commitment"]) == 64
    newest = client.get("/api/v1/events?limit=1&newest_first=true").json()
    assert newest["items"][0]["seq"] == 1
