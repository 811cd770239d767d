"""pnyx programme / call / proposal / review / award / usage / statement.

Local commands act on the store directly: as the facility's administrator (an operator), or
with ``--as PRINCIPAL`` as that principal (its roles and member), e.g. a researcher submitting
a proposal or a reviewer scoring one.
"""

from __future__ import annotations

import json as jsonlib
from typing import Annotated, Any

import typer
from rich.table import Table

from pnyx.cli.common import (
    AsOpt,
    DataOpt,
    DbOpt,
    JsonOpt,
    TokenOpt,
    UrlOpt,
    actor_for,
    console,
    emit,
    open_context,
)
from pnyx.cli.remote import Remote
from pnyx.domain.allocation import CallSpec, ProposalSpec, ReviewPolicy
from pnyx.domain.containment import parse_containment
from pnyx.domain.identity import Actor
from pnyx.errors import InvalidInputError
from pnyx.services import accounting, awards, calls, programmes, reviews

programme_app = typer.Typer(help="Programmes: the facility's budget lines.")
call_app = typer.Typer(help="Calls for proposals.")
proposal_app = typer.Typer(help="Proposals to calls.")
review_app = typer.Typer(help="Reviewer assignment, conflicts and scores.")
award_app = typer.Typer(help="Awards of accelerator-hours.")
usage_app = typer.Typer(help="Usage records and job admission.")
statement_app = typer.Typer(help="Statements: awarded, used, remaining hours.")


def parse_hours_arg(values: list[str]) -> dict[str, int]:
    """["h100=1000", "h200=500"] -> {"h100": 1000, "h200": 500}."""
    out: dict[str, int] = {}
    for v in values:
        kind, sep, hours = v.partition("=")
        if not sep or not hours.isdigit():
            raise InvalidInputError(f"expected TYPE=HOURS (e.g. h100=1000), got {v!r}")
        out[kind] = int(hours)
    return out


def _rows(headers: list[str], rows: list[list[Any]]) -> None:
    table = Table(*headers)
    for row in rows:
        table.add_row(*(str(c) for c in row))
    console.print(table)


def _dump(value: Any) -> str:
    return jsonlib.dumps(value, sort_keys=True)


def _remote(url: str | None, token: str | None, path: str) -> bool:
    """With --url, print the server's JSON answer for ``path`` and return True."""
    if url is None:
        return False
    emit(Remote(url, token).get(path), True)
    return True


@programme_app.command("declare")
def programme_declare(
    programme_id: str,
    name: Annotated[str, typer.Option(help="display name")],
    description: str = "",
    data: DataOpt = None,
    db: DbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Declare a programme."""
    view = programmes.declare_programme(
        open_context(data, db), Actor.system(), programme_id, name, description
    )
    emit(view, json, lambda v: console.print(f"declared programme {v.programme_id}"))


@programme_app.command("list")
def programme_list(
    data: DataOpt = None, db: DbOpt = None, url: UrlOpt = None, token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:  # fmt: skip
    """List programmes."""
    if _remote(url, token, "/api/v1/programmes"):
        return
    items = programmes.list_programmes(open_context(data, db))
    emit(
        items, json, lambda xs: _rows(["programme", "name"], [[p.programme_id, p.name] for p in xs])
    )


@call_app.command("open")
def call_open(
    call_id: str,
    programme: Annotated[str, typer.Option(help="programme id")],
    title: Annotated[str, typer.Option(help="title")],
    budget: Annotated[list[str], typer.Option("--budget", help="TYPE=HOURS; repeat")],
    period_start: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    period_end: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    deadline: Annotated[str, typer.Option(help="RFC 3339 time submissions close")],
    review_deadline: Annotated[str, typer.Option(help="RFC 3339 time reviews close")],
    min_reviewers: int = 2,
    score_min: int = 1,
    score_max: int = 5,
    threshold: str = "3",
    in_credits: Annotated[bool, typer.Option(help="budget is in facility credits")] = False,
    data: DataOpt = None,
    db: DbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Open a call for proposals."""
    policy = ReviewPolicy(min_reviewers, score_min, score_max, threshold)
    spec = CallSpec(
        call_id, programme, title, parse_hours_arg(budget), period_start, period_end,
        deadline, review_deadline, policy,
    )  # fmt: skip
    view = calls.open_call(open_context(data, db), Actor.system(), spec, in_credits)
    emit(view, json, lambda v: console.print(f"opened call {v.call_id}: {_dump(v.budget)}"))


@call_app.command("list")
def call_list(
    data: DataOpt = None, db: DbOpt = None, url: UrlOpt = None, token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:  # fmt: skip
    """List calls."""
    if _remote(url, token, "/api/v1/calls"):
        return
    items = calls.list_calls(open_context(data, db))
    emit(
        items,
        json,
        lambda xs: _rows(
            ["call", "programme", "budget", "deadline", "published"],
            [[c.call_id, c.programme_id, _dump(c.budget), c.deadline, c.published] for c in xs],
        ),
    )


@call_app.command("close")
def call_close(
    call_id: str, phase: str, data: DataOpt = None, db: DbOpt = None, json: JsonOpt = False
) -> None:
    """End a call's 'submission' or 'review' phase now."""
    view = calls.close_phase(open_context(data, db), Actor.system(), call_id, phase)
    emit(view, json, lambda v: console.print(f"closed {phase} of {v.call_id}"))


@proposal_app.command("submit")
def proposal_submit(
    call_id: str,
    project: Annotated[str, typer.Option(help="project id")],
    title: Annotated[str, typer.Option(help="title")],
    abstract: Annotated[str, typer.Option(help="abstract")],
    request: Annotated[list[str], typer.Option("--request", help="TYPE=HOURS; repeat")],
    as_: AsOpt = None,
    containment: str = "CL-1",
    dataset: Annotated[list[str] | None, typer.Option("--dataset", help="repeat")] = None,
    weights_open: bool = True,
    data_open: bool = True,
    member: Annotated[str | None, typer.Option(help="member, if the principal has none")] = None,
    data: DataOpt = None,
    db: DbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Submit a proposal (as a researcher: --as)."""
    ctx = open_context(data, db)
    spec = ProposalSpec(
        call_id, project, title, abstract, parse_hours_arg(request),
        parse_containment(containment), tuple(dataset or ()), weights_open, data_open,
    )  # fmt: skip
    view = calls.submit_proposal(ctx, actor_for(ctx, as_), spec, member)
    emit(view, json, lambda v: console.print(f"submitted proposal {v.proposal_id}"))


@proposal_app.command("list")
def proposal_list(
    call_id: str, data: DataOpt = None, db: DbOpt = None, json: JsonOpt = False
) -> None:
    """List a call's proposals (with scores once published)."""
    items = calls.list_proposals(open_context(data, db), call_id)
    emit(
        items,
        json,
        lambda xs: _rows(
            ["proposal", "project", "member", "requested", "rank", "mean", "outcome"],
            [
                [
                    p.proposal_id,
                    p.project_id,
                    p.member_id,
                    _dump(p.requested),
                    p.rank,
                    p.mean,
                    p.outcome,
                ]
                for p in xs
            ],
        ),
    )


@review_app.command("conflict")
def review_conflict(
    proposal_id: str,
    reason: Annotated[str, typer.Option(help="why")],
    as_: AsOpt = None,
    reviewer: Annotated[str | None, typer.Option(help="reviewer (operators)")] = None,
    data: DataOpt = None,
    db: DbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Declare a conflict of interest with a proposal."""
    ctx = open_context(data, db)
    reviews.declare_conflict(ctx, actor_for(ctx, as_), proposal_id, reason, reviewer)
    emit({"conflict": proposal_id}, json, lambda _: console.print("conflict declared"))


@review_app.command("assign")
def review_assign(
    call_id: str, data: DataOpt = None, db: DbOpt = None, json: JsonOpt = False
) -> None:
    """Assign reviewers to a closed call automatically."""
    plan = reviews.assign_reviewers(open_context(data, db), Actor.system(), call_id)
    emit(
        plan,
        json,
        lambda p: _rows(["proposal", "reviewers"], [[k, ", ".join(v)] for k, v in p.items()]),
    )


@review_app.command("score")
def review_score(
    proposal_id: str,
    score: int,
    as_: AsOpt = None,
    comment: str = "",
    data: DataOpt = None,
    db: DbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Score a proposal (as an assigned reviewer: --as)."""
    ctx = open_context(data, db)
    view = reviews.record_review(ctx, actor_for(ctx, as_), proposal_id, score, comment)
    emit(view, json, lambda v: console.print(f"{v.reviewer_id} scored {v.proposal_id}: {v.score}"))


@award_app.command("publish")
def award_publish(
    call_id: str, data: DataOpt = None, db: DbOpt = None, json: JsonOpt = False
) -> None:
    """Rank a call's proposals and publish the awards."""
    items = awards.publish_awards(open_context(data, db), Actor.system(), call_id)
    emit(items, json, _print_awards)


@award_app.command("list")
def award_list(
    call: Annotated[str | None, typer.Option(help="only this call")] = None,
    data: DataOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """List awards."""
    if _remote(url, token, "/api/v1/awards" + (f"?call_id={call}" if call else "")):
        return
    emit(awards.list_awards(open_context(data, db), call), json, _print_awards)


def _print_awards(items: list[Any]) -> None:
    _rows(
        ["award", "project", "member", "hours", "credits", "containment"],
        [
            [a.award_id, a.project_id, a.member_id, _dump(a.hours), a.credits, a.containment]
            for a in items
        ],
    )


@award_app.command("weights")
def award_weights(
    weight: Annotated[
        list[str] | None, typer.Option("--weight", help="TYPE=DECIMAL; repeat")
    ] = None,
    data: DataOpt = None,
    db: DbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show the billing weights, or publish a new table with --weight."""
    ctx = open_context(data, db)
    if weight:
        table = dict(w.partition("=")[::2] for w in weight)
        view = calls.set_billing_weights(ctx, Actor.system(), dict(table))
    else:
        view = calls.billing_weights(ctx)
    emit(view, json, lambda v: console.print(f"billing weights v{v.version}: {_dump(v.weights)}"))


@usage_app.command("record")
def usage_record(
    project: str,
    accelerator_type: str,
    accel_seconds: int,
    start: Annotated[str, typer.Option(help="RFC 3339")],
    end: Annotated[str, typer.Option(help="RFC 3339")],
    job: str = "",
    data: DataOpt = None,
    db: DbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Record accelerator-seconds a project used."""
    view = accounting.record_usage(
        open_context(data, db),
        Actor.system(),
        project,
        accelerator_type,
        accel_seconds,
        start,
        end,
        job,
    )
    emit(view, json, lambda v: console.print(f"recorded {v.usage_id}"))


@usage_app.command("admit")
def usage_admit(
    project: str,
    accelerator_type: str,
    accelerators: int,
    time_limit_s: int,
    data: DataOpt = None,
    db: DbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Check whether a job would be admitted (exit 1 with the reason if not)."""
    ctx = open_context(data, db)
    accounting.check_admission(ctx, project, accelerator_type, accelerators, time_limit_s)
    emit({"admitted": True}, json, lambda _: console.print("admitted"))


@statement_app.command("show")
def statement_show(
    scope: Annotated[str, typer.Argument(help="project, member or programme")],
    scope_id: Annotated[str | None, typer.Argument(help="omit for all")] = None,
    data: DataOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Awarded, used and remaining accelerator-hours per type."""
    if url is not None:  # one statement comes back as an object: list it, as locally
        path = f"/api/v1/statements/{scope}" + (f"/{scope_id}" if scope_id else "")
        answer = Remote(url, token).get(path)
        emit([answer] if scope_id else answer, True)
        return
    ctx = open_context(data, db)
    items = (
        [accounting.statement(ctx, scope, scope_id)]
        if scope_id
        else accounting.statements(ctx, scope)
    )
    emit(
        items,
        json,
        lambda xs: _rows(
            [scope, "type", "awarded h", "used h", "remaining h"],
            [
                [s.scope_id, x.accelerator_type, x.awarded_hours, x.used_hours, x.remaining_hours]
                for s in xs
                for x in s.lines
            ],
        ),
    )
