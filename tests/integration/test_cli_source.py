"""The CLI's one way to a store (pnyx.cli.source): local or --url give the same answers, a
server's error comes back as the same PnyxError (one line, exit 1), and the allocation commands
write over --url with --token, as the principal of the token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pnyx_server import Server, cli_env, run_cli, run_json
from sqlalchemy import func, select
from typer.testing import CliRunner

from pnyx.api.app import create_app
from pnyx.cli import source
from pnyx.cli.main import app as cli
from pnyx.cli.remote import Remote, error_of
from pnyx.cli.source import Source
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PnyxError,
    VerificationError,
)
from pnyx.services import identity, programmes
from pnyx.services.context import ServiceContext
from pnyx.services.programmes import ProgrammeView
from pnyx.services.setup import build_context
from pnyx.settings import Settings
from pnyx.store import tables as t
from pnyx.store.db import url_for_data_dir

URL = "http://pnyx.test"


@pytest.fixture
def served(ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str | None]]:
    """Commands run with --url reach an in-process server over ``ctx``; yields the tokens
    they presented, in order."""
    app = create_app(Settings(), ctx=ctx)
    seen: list[str | None] = []

    def connect(base_url: str, token: str | None = None) -> Remote:
        assert base_url == URL
        seen.append(token)
        remote = Remote(base_url, token)
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        remote.client = TestClient(app, headers=auth)
        return remote

    monkeypatch.setattr(source, "Remote", connect)
    yield seen


def principal(ctx: ServiceContext, pid: str, role: Role, member: str | None = None) -> str:
    """A principal with one role; its API token."""
    identity.create_principal(
        ctx, Actor.system(), NewPrincipal(pid, pid, frozenset({role}), member)
    )
    return identity.issue_token(ctx, Actor.system(), pid).token


def events(ctx: ServiceContext) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)


def not_local(ctx: ServiceContext, actor: Actor) -> None:
    pytest.fail("ran on the local store, not over --url")


def pnyx(*args: str, code: int = 0) -> Any:
    """Run the CLI in-process; its JSON answer (exit 0) or the result (otherwise)."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return json.loads(result.stdout) if code == 0 else result


def test_local_and_remote_give_the_same_view(ctx: ServiceContext, served: list[str | None]) -> None:
    programmes.ensure_programmes(ctx)
    local = Source(db=ctx.db.url, principal=None)
    over_http = Source(url=URL)
    path = "/api/v1/programmes"
    mine = local.read(path, lambda c, a: (a, programmes.list_programmes(c)))
    assert mine[0] == Actor.system()  # without --as: the administrator
    theirs = over_http.read(path, not_local, model=list[ProgrammeView])
    assert theirs == mine[1] and len(theirs) == 5
    raw = over_http.read(path, not_local)
    assert raw == [p.model_dump(mode="json") for p in mine[1]]
    assert not local.is_remote and over_http.is_remote and served == [None]


def test_as_acts_locally_as_that_principal(ctx: ServiceContext) -> None:
    identity.admit_member(ctx, Actor.system(), "de", "Germany")
    principal(ctx, "ada", Role.RESEARCHER, "de")
    actor = Source(db=ctx.db.url, principal="ada").read("/unused", lambda c, a: a)
    assert (actor.principal_id, actor.member_id) == ("ada", "de")
    assert Role.RESEARCHER in actor.roles
    with pytest.raises(NotFoundError):
        Source(db=ctx.db.url, principal="nobody").read("/unused", lambda c, a: a)


def test_a_server_error_comes_back_as_the_same_error(
    ctx: ServiceContext, served: list[str | None]
) -> None:
    programmes.ensure_programmes(ctx)
    token = principal(ctx, "ada", Role.RESEARCHER)
    before = events(ctx)
    body = {"programme_id": "p-new", "name": "New", "description": ""}
    with pytest.raises(PermissionDeniedError, match=r"^server: .*operator"):
        Source(url=URL, token=token).write("/api/v1/programmes", body, not_local)
    with pytest.raises(NotFoundError, match="server: "):
        Source(url=URL).read("/api/v1/calls/nope", lambda c, a: None)
    with pytest.raises(InvalidInputError, match=r"server: body\.name"):
        Source(url=URL, token=token).write(
            "/api/v1/programmes", {"programme_id": "x"}, lambda c, a: None
        )
    assert events(ctx) == before  # nothing written
    refused = pnyx("programme", "declare", "p-new", "--name", "N", "--url", URL,
                   "--token", token, code=1)  # fmt: skip
    assert isinstance(refused.exception, PermissionDeniedError)
    assert str(refused.exception).startswith("server: ")


@pytest.mark.parametrize(
    ("status", "answer", "error"),
    [
        (403, {"error": "permission_denied", "detail": "no"}, PermissionDeniedError),
        (422, {"error": "verification", "detail": "no"}, VerificationError),
        (422, {"error": "invalid_input", "detail": "no"}, InvalidInputError),
        (409, {"detail": "no"}, ConflictError),  # no kind: by status
        (502, {"detail": "no"}, PnyxError),
    ],
)
def test_error_of_maps_kind_then_status(
    status: int, answer: dict[str, str], error: type[PnyxError]
) -> None:
    got = error_of(httpx.Response(status, json=answer))
    assert type(got) is error and str(got) == "server: no"


def test_error_of_a_non_json_answer() -> None:
    got = error_of(httpx.Response(500, text="<html>bad gateway</html>"))
    assert type(got) is PnyxError and str(got) == "server: <html>bad gateway</html>"
    listed = error_of(httpx.Response(404, json=["not", "an", "object"]))
    assert type(listed) is NotFoundError


def test_an_unreachable_server_is_one_clear_error() -> None:
    src = Source(url="http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(PnyxError, match=r"cannot reach http://127\.0\.0\.1:9"):
        src.read("/api/v1/programmes", lambda c, a: None)


CALL = (
    "call", "open", "c1", "--programme", "open-models", "--title", "Call", "--budget", "h100=100",
    "--period-start", "2026-02-01", "--period-end", "2026-12-31",
    "--deadline", "2030-01-01T00:00:00Z", "--review-deadline", "2030-02-01T00:00:00Z",
    "--min-reviewers", "1",
)  # fmt: skip


def test_allocation_writes_over_url(ctx: ServiceContext, served: list[str | None]) -> None:
    identity.admit_member(ctx, Actor.system(), "de", "Germany")
    op = ["--url", URL, "--token", principal(ctx, "op", Role.OPERATOR)]
    ada = ["--url", URL, "--token", principal(ctx, "ada", Role.RESEARCHER, "de")]
    rev = ["--url", URL, "--token", principal(ctx, "r1", Role.REVIEWER)]
    principal(ctx, "r2", Role.REVIEWER)
    made = pnyx("programme", "declare", "open-models", "--name", "Open models", *op, "--json")
    assert made["programme_id"] == "open-models"
    assert pnyx(*CALL, *op, "--json")["budget"] == {"h100": 100}
    refused = pnyx(*CALL[:2], "c2", *CALL[3:], *ada, code=1)
    assert isinstance(refused.exception, PermissionDeniedError)
    proposal = pnyx("proposal", "submit", "c1", "--project", "p1", "--title", "T",
                    "--abstract", "A", "--request", "h100=150", *ada, "--json")  # fmt: skip
    assert (proposal["proposal_id"], proposal["member_id"]) == ("c1.001", "de")
    listed = pnyx("proposal", "list", "c1", "--url", URL, "--json")
    assert [p["proposal_id"] for p in listed] == ["c1.001"]
    conflict = ["review", "conflict", "c1.001", "--reason", "co-author", "--json"]
    assert pnyx(*conflict, "--url", URL, "--token", identity.issue_token(
        ctx, Actor.system(), "r2").token) == {"conflict": "c1.001"}  # fmt: skip
    assert pnyx("call", "close", "c1", "submission", *op, "--json")["call_id"] == "c1"
    assert pnyx("review", "assign", "c1", *op, "--json") == {"c1.001": ["r1"]}
    scored = pnyx("review", "score", "c1.001", "4", "--comment", "good", *rev, "--json")
    assert (scored["reviewer_id"], scored["score"]) == ("r1", 4)
    pnyx("call", "close", "c1", "review", *op, "--json")
    awarded = pnyx("award", "publish", "c1", *op, "--json")
    assert [(a["project_id"], a["hours"]) for a in awarded] == [("p1", {"h100": 100})]
    used = pnyx("usage", "record", "p1", "h100", "36000", "--start", "2026-02-01T00:00:00Z",
                "--end", "2026-02-01T01:00:00Z", "--job", "j-1", *op, "--json")  # fmt: skip
    assert (used["project_id"], used["accel_seconds"]) == ("p1", 36000)
    stmt = pnyx("statement", "show", "project", "p1", "--url", URL, "--json")
    assert stmt[0]["lines"][0]["remaining_hours"] == 90.0
    assert pnyx("usage", "admit", "p1", "h100", "8", "3600", "--url", URL, "--json") == {
        "admitted": True
    }
    too_much = pnyx("usage", "admit", "p1", "h100", "8", "43200", "--url", URL, code=1)
    assert isinstance(too_much.exception, PermissionDeniedError)
    assert "90.00 h100 accelerator-hours left" in str(too_much.exception)
    weights = pnyx("award", "weights", "--weight", "h100=1.5", *op, "--json")
    assert weights["weights"] == {"h100": "1.5"}
    assert pnyx("award", "weights", "--url", URL, "--json") == weights
    # the server acted as each token's principal, and the record says so
    with ctx.db.read() as conn:
        actors = {r.kind: r.actor for r in conn.execute(select(t.events.c.kind, t.events.c.actor))}
    assert actors["proposal.submitted"] == "ada" and actors["review.recorded"] == "r1"
    assert actors["call.opened"] == "op"


def test_human_output_is_the_same_both_ways(ctx: ServiceContext, served: list[str | None]) -> None:
    op = ["--url", URL, "--token", principal(ctx, "op", Role.OPERATOR)]
    remote = CliRunner().invoke(cli, ["programme", "declare", "p-a", "--name", "A", *op])
    local = CliRunner().invoke(cli, ["programme", "declare", "p-b", "--name", "B",
                                     "--db", ctx.db.url])  # fmt: skip
    assert remote.exit_code == 0 and local.exit_code == 0, (remote.output, local.output)
    assert remote.stdout == "declared programme p-a\n"
    assert local.stdout == "declared programme p-b\n"


def test_the_admission_route(ctx: ServiceContext, served: list[str | None]) -> None:
    client = TestClient(create_app(Settings(), ctx=ctx))
    identity.admit_member(ctx, Actor.system(), "de", "Germany")
    op = ["--url", URL, "--token", principal(ctx, "op", Role.OPERATOR)]
    pnyx("programme", "declare", "open-models", "--name", "Open models", *op, "--json")
    pnyx(*CALL, "--db", ctx.db.url, "--json")
    ada = ["--url", URL, "--token", principal(ctx, "ada", Role.RESEARCHER, "de")]
    pnyx("proposal", "submit", "c1", "--project", "p1", "--title", "T", "--abstract", "A",
         "--request", "h100=10", *ada, "--json")  # fmt: skip
    principal(ctx, "r1", Role.REVIEWER)
    for step in (("call", "close", "c1", "submission"), ("review", "assign", "c1")):
        pnyx(*step, *op, "--json")
    pnyx("review", "score", "c1.001", "5", "--as", "r1", "--db", ctx.db.url, "--json")
    pnyx("call", "close", "c1", "review", *op, "--json")
    pnyx("award", "publish", "c1", *op, "--json")
    path = "/api/v1/usage/admission"
    query = {"project_id": "p1", "accelerator_type": "h100", "accelerators": 2}
    ok = client.get(path, params=query | {"time_limit_s": 18_000})  # anonymous: 10 h of 10 h
    assert ok.status_code == 200 and ok.json() == {"admitted": True}
    over = client.get(path, params=query | {"time_limit_s": 18_001})
    assert over.status_code == 403 and over.json()["error"] == "permission_denied"
    assert "10.00 h100 accelerator-hours left" in over.json()["detail"]
    bad = client.get(path, params=query | {"time_limit_s": 0})
    assert bad.status_code == 422 and "positive" in bad.json()["detail"]
    missing = client.get(path, params=query)
    assert missing.status_code == 422 and "time_limit_s" in missing.json()["detail"]
    assert (
        client.get(path, params=query | {"time_limit_s": 1, "project_id": "nobody"}).json()["error"]
        == "permission_denied"
    )  # no award: nothing left


@pytest.mark.slow
def test_over_a_real_server_a_refusal_is_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ctx = build_context(Settings(data_dir=data, db_url=url_for_data_dir(data)))
    op, ada = principal(ctx, "op", Role.OPERATOR), principal(ctx, "ada", Role.RESEARCHER)
    ctx.db.dispose()
    env = cli_env()
    server = Server(["--data", str(data)], env, tmp_path / "server.log")
    try:
        declare = ["programme", "declare", "open-models", "--name", "Open", "--url", server.url]
        made = run_json([*declare, "--token", op], env)
        assert made["programme_id"] == "open-models"
        refused = run_cli([*declare, "--token", ada], env, check=False)
        assert refused.returncode == 1 and refused.stdout == ""
        assert refused.stderr == "error: server: ada needs role operator (holds researcher)\n"
        again = run_cli([*declare, "--token", op], env, check=False)
        assert again.returncode == 1 and again.stderr.startswith("error: server: ")
        assert "open-models" in again.stderr and len(again.stderr.splitlines()) == 1
        listed = run_cli(["programme", "list", "--url", server.url], env)
        assert [p["programme_id"] for p in json.loads(listed.stdout)] == ["open-models"]
    finally:
        server.stop()
