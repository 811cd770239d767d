"""The allocation CLI over a database: a call from opening to statement, refusals exit 1."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from pnyx.cli.main import app as cli
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.errors import PermissionDeniedError
from pnyx.services import identity
from pnyx.services.context import ServiceContext


def run(ctx: ServiceContext, *args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--db", ctx.db.url, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_call_to_statement_through_the_cli(ctx: ServiceContext) -> None:
    identity.admit_member(ctx, Actor.system(), "de", "Germany")
    for pid, role, member in (("ada", Role.RESEARCHER, "de"), ("r1", Role.REVIEWER, None)):
        identity.create_principal(
            ctx, Actor.system(), NewPrincipal(pid, pid, frozenset({role}), member)
        )
    run(ctx, "programme", "declare", "open-models", "--name", "Open models")
    run(
        ctx, "call", "open", "c1", "--programme", "open-models", "--title", "Call",
        "--budget", "h100=100", "--period-start", "2026-02-01", "--period-end", "2026-12-31",
        "--deadline", "2030-01-01T00:00:00Z", "--review-deadline", "2030-02-01T00:00:00Z",
        "--min-reviewers", "1",
    )  # fmt: skip
    made = run(
        ctx, "proposal", "submit", "c1", "--as", "ada", "--project", "p1", "--title", "T",
        "--abstract", "A", "--request", "h100=150",
    )  # fmt: skip
    assert made["member_id"] == "de"
    run(ctx, "call", "close", "c1", "submission")
    assert run(ctx, "review", "assign", "c1") == {"c1.001": ["r1"]}
    run(ctx, "review", "score", "c1.001", "4", "--as", "r1")
    run(ctx, "call", "close", "c1", "review")
    awarded = run(ctx, "award", "publish", "c1")
    assert awarded[0]["hours"] == {"h100": 100}  # partial: the budget's edge
    run(ctx, "usage", "record", "p1", "h100", "36000", "--start", "2026-02-01T00:00:00Z",
        "--end", "2026-02-01T01:00:00Z")  # fmt: skip
    stmt = run(ctx, "statement", "show", "project", "p1")
    assert stmt[0]["lines"][0]["remaining_hours"] == 90.0
    refused = CliRunner().invoke(
        cli, ["usage", "admit", "p1", "h100", "8", "43200", "--db", ctx.db.url]
    )
    assert refused.exit_code != 0
    assert isinstance(refused.exception, PermissionDeniedError)
    assert "90.00 h100 accelerator-hours left" in str(refused.exception)
