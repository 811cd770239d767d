"""pnyx programme / call / proposal / review / award / usage / statement.

Local commands act on the store directly: as the facility's administrator (an operator), or
with ``--as PRINCIPAL`` as that principal (its roles and member), e.g. a researcher submitting
a proposal or a reviewer scoring one. With ``--url`` every command calls a running server as
the principal of ``--token`` (writes need one; reads are public).
"""

from __future__ import annotations

import json as jsonlib
from typing import Annotated, Any

import typer
from rich.table import Table

from pnyx.cli.common import JsonOpt, console, emit
from pnyx.cli.source import Source, addressed
from pnyx.domain.allocation import CallSpec, ProposalSpec, ReviewPolicy
from pnyx.domain.containment import parse_containment
from pnyx.errors import InvalidInputError
from pnyx.services import accounting, awards, calls, programmes, reviews
from pnyx.services.allocation_dto import (
    AwardView,
    BillingWeightsView,
    CallView,
    ProposalView,
    ReviewView,
    UsageView,
)
from pnyx.services.programmes import ProgrammeView

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


@programme_app.command("declare")
@addressed()
def programme_declare(
    programme_id: str,
    name: Annotated[str, typer.Option(help="display name")],
    src: Source,
    description: str = "",
    json: JsonOpt = False,
) -> None:
    """Declare a programme."""
    body = {"programme_id": programme_id, "name": name, "description": description}
    view = src.write(
        "/api/v1/programmes",
        body,
        lambda c, a: programmes.declare_programme(c, a, programme_id, name, description),
        model=ProgrammeView,
    )
    emit(view, json, lambda v: console.print(f"declared programme {v.programme_id}"))


@programme_app.command("list")
@addressed()
def programme_list(src: Source, json: JsonOpt = False) -> None:
    """List programmes."""
    items = src.read("/api/v1/programmes", lambda c, _: programmes.list_programmes(c))
    emit(
        items,
        json or src.is_remote,  # over --url: the server's JSON, as it always printed
        lambda xs: _rows(["programme", "name"], [[p.programme_id, p.name] for p in xs]),
    )


@call_app.command("open")
@addressed()
def call_open(
    call_id: str,
    programme: Annotated[str, typer.Option(help="programme id")],
    title: Annotated[str, typer.Option(help="title")],
    budget: Annotated[list[str], typer.Option("--budget", help="TYPE=HOURS; repeat")],
    period_start: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    period_end: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    deadline: Annotated[str, typer.Option(help="RFC 3339 time submissions close")],
    review_deadline: Annotated[str, typer.Option(help="RFC 3339 time reviews close")],
    src: Source,
    min_reviewers: int = 2,
    score_min: int = 1,
    score_max: int = 5,
    threshold: str = "3",
    in_credits: Annotated[bool, typer.Option(help="budget is in facility credits")] = False,
    json: JsonOpt = False,
) -> None:
    """Open a call for proposals."""
    policy = ReviewPolicy(min_reviewers, score_min, score_max, threshold)
    spec = CallSpec(
        call_id, programme, title, parse_hours_arg(budget), period_start, period_end,
        deadline, review_deadline, policy,
    )  # fmt: skip
    body = {
        "call_id": call_id, "programme_id": programme, "title": title, "budget": spec.budget,
        "in_credits": in_credits, "period_start": period_start, "period_end": period_end,
        "deadline": deadline, "review_deadline": review_deadline,
        "min_reviewers": min_reviewers, "score_min": score_min, "score_max": score_max,
        "threshold": threshold,
    }  # fmt: skip
    view = src.write(
        "/api/v1/calls", body, lambda c, a: calls.open_call(c, a, spec, in_credits), model=CallView
    )
    emit(view, json, lambda v: console.print(f"opened call {v.call_id}: {_dump(v.budget)}"))


@call_app.command("list")
@addressed()
def call_list(src: Source, json: JsonOpt = False) -> None:
    """List calls."""
    items = src.read("/api/v1/calls", lambda c, _: calls.list_calls(c))
    emit(
        items,
        json or src.is_remote,  # over --url: the server's JSON, as it always printed
        lambda xs: _rows(
            ["call", "programme", "budget", "deadline", "published"],
            [[c.call_id, c.programme_id, _dump(c.budget), c.deadline, c.published] for c in xs],
        ),
    )


@call_app.command("close")
@addressed()
def call_close(call_id: str, phase: str, src: Source, json: JsonOpt = False) -> None:
    """End a call's 'submission' or 'review' phase now."""
    view = src.write(
        f"/api/v1/calls/{call_id}/close",
        {"phase": phase},
        lambda c, a: calls.close_phase(c, a, call_id, phase),
        model=CallView,
    )
    emit(view, json, lambda v: console.print(f"closed {phase} of {v.call_id}"))


@proposal_app.command("submit")
@addressed(principal=True)
def proposal_submit(
    call_id: str,
    project: Annotated[str, typer.Option(help="project id")],
    title: Annotated[str, typer.Option(help="title")],
    abstract: Annotated[str, typer.Option(help="abstract")],
    request: Annotated[list[str], typer.Option("--request", help="TYPE=HOURS; repeat")],
    src: Source,
    containment: str = "CL-1",
    dataset: Annotated[list[str] | None, typer.Option("--dataset", help="repeat")] = None,
    weights_open: bool = True,
    data_open: bool = True,
    member: Annotated[str | None, typer.Option(help="member, if the principal has none")] = None,
    json: JsonOpt = False,
) -> None:
    """Submit a proposal (as a researcher: --as, or over --url with a researcher's --token)."""
    spec = ProposalSpec(
        call_id, project, title, abstract, parse_hours_arg(request),
        parse_containment(containment), tuple(dataset or ()), weights_open, data_open,
    )  # fmt: skip
    body = {
        "project_id": project, "title": title, "abstract": abstract, "requested": spec.requested,
        "containment": containment, "datasets": list(spec.datasets),
        "weights_open": weights_open, "data_open": data_open, "member_id": member,
    }  # fmt: skip
    view = src.write(
        f"/api/v1/calls/{call_id}/proposals",
        body,
        lambda c, a: calls.submit_proposal(c, a, spec, member),
        model=ProposalView,
    )
    emit(view, json, lambda v: console.print(f"submitted proposal {v.proposal_id}"))


@proposal_app.command("list")
@addressed()
def proposal_list(call_id: str, src: Source, json: JsonOpt = False) -> None:
    """List a call's proposals (with scores once published)."""
    items = src.read(
        f"/api/v1/calls/{call_id}/proposals",
        lambda c, _: calls.list_proposals(c, call_id),
        model=list[ProposalView],
    )
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
@addressed(principal=True)
def review_conflict(
    proposal_id: str,
    reason: Annotated[str, typer.Option(help="why")],
    src: Source,
    reviewer: Annotated[str | None, typer.Option(help="reviewer (operators)")] = None,
    json: JsonOpt = False,
) -> None:
    """Declare a conflict of interest with a proposal."""
    src.write(
        f"/api/v1/proposals/{proposal_id}/conflicts",
        {"reason": reason, "reviewer_id": reviewer},
        lambda c, a: reviews.declare_conflict(c, a, proposal_id, reason, reviewer),
    )
    emit({"conflict": proposal_id}, json, lambda _: console.print("conflict declared"))


@review_app.command("assign")
@addressed()
def review_assign(call_id: str, src: Source, json: JsonOpt = False) -> None:
    """Assign reviewers to a closed call automatically."""
    plan = src.write(
        f"/api/v1/calls/{call_id}/assign",
        {},
        lambda c, a: reviews.assign_reviewers(c, a, call_id),
        model=dict[str, list[str]],
    )
    emit(
        plan,
        json,
        lambda p: _rows(["proposal", "reviewers"], [[k, ", ".join(v)] for k, v in p.items()]),
    )


@review_app.command("score")
@addressed(principal=True)
def review_score(
    proposal_id: str, score: int, src: Source, comment: str = "", json: JsonOpt = False
) -> None:
    """Score a proposal (as an assigned reviewer: --as, or over --url with a reviewer's --token)."""
    view = src.write(
        f"/api/v1/proposals/{proposal_id}/reviews",
        {"score": score, "comment": comment},
        lambda c, a: reviews.record_review(c, a, proposal_id, score, comment),
        model=ReviewView,
    )
    emit(view, json, lambda v: console.print(f"{v.reviewer_id} scored {v.proposal_id}: {v.score}"))


@award_app.command("publish")
@addressed()
def award_publish(call_id: str, src: Source, json: JsonOpt = False) -> None:
    """Rank a call's proposals and publish the awards."""
    items = src.write(
        f"/api/v1/calls/{call_id}/awards",
        {},
        lambda c, a: awards.publish_awards(c, a, call_id),
        model=list[AwardView],
    )
    emit(items, json, _print_awards)


@award_app.command("list")
@addressed()
def award_list(
    src: Source,
    call: Annotated[str | None, typer.Option(help="only this call")] = None,
    json: JsonOpt = False,
) -> None:
    """List awards."""
    items = src.read(
        "/api/v1/awards",
        lambda c, _: awards.list_awards(c, call),
        params={"call_id": call} if call else None,
    )
    emit(items, json or src.is_remote, _print_awards)  # over --url: the server's JSON


def _print_awards(items: list[Any]) -> None:
    _rows(
        ["award", "project", "member", "hours", "credits", "containment"],
        [
            [a.award_id, a.project_id, a.member_id, _dump(a.hours), a.credits, a.containment]
            for a in items
        ],
    )


@award_app.command("weights")
@addressed()
def award_weights(
    src: Source,
    weight: Annotated[
        list[str] | None, typer.Option("--weight", help="TYPE=DECIMAL; repeat")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Show the billing weights, or publish a new table with --weight."""
    path = "/api/v1/billing-weights"
    if weight:
        table = dict(w.partition("=")[::2] for w in weight)
        view = src.write(
            path,
            {"weights": table},
            lambda c, a: calls.set_billing_weights(c, a, dict(table)),
            model=BillingWeightsView,
            method="PUT",
        )
    else:
        view = src.read(path, lambda c, _: calls.billing_weights(c), model=BillingWeightsView)
    emit(view, json, lambda v: console.print(f"billing weights v{v.version}: {_dump(v.weights)}"))


@usage_app.command("record")
@addressed()
def usage_record(
    project: str,
    accelerator_type: str,
    accel_seconds: int,
    start: Annotated[str, typer.Option(help="RFC 3339")],
    end: Annotated[str, typer.Option(help="RFC 3339")],
    src: Source,
    job: str = "",
    json: JsonOpt = False,
) -> None:
    """Record accelerator-seconds a project used."""
    body = {
        "project_id": project, "accelerator_type": accelerator_type,
        "accel_seconds": accel_seconds, "start": start, "end": end, "job_id": job,
    }  # fmt: skip
    view = src.write(
        "/api/v1/usage",
        body,
        lambda c, a: accounting.record_usage(
            c, a, project, accelerator_type, accel_seconds, start, end, job
        ),
        model=UsageView,
    )
    emit(view, json, lambda v: console.print(f"recorded {v.usage_id}"))


@usage_app.command("admit")
@addressed()
def usage_admit(
    project: str,
    accelerator_type: str,
    accelerators: int,
    time_limit_s: int,
    src: Source,
    json: JsonOpt = False,
) -> None:
    """Check whether a job would be admitted (exit 1 with the reason if not)."""
    src.read(
        "/api/v1/usage/admission",
        lambda c, _: accounting.check_admission(
            c, project, accelerator_type, accelerators, time_limit_s
        ),
        params={
            "project_id": project, "accelerator_type": accelerator_type,
            "accelerators": accelerators, "time_limit_s": time_limit_s,
        },
    )  # fmt: skip
    emit({"admitted": True}, json, lambda _: console.print("admitted"))


@statement_app.command("show")
@addressed()
def statement_show(
    scope: Annotated[str, typer.Argument(help="project, member or programme")],
    src: Source,
    scope_id: Annotated[str | None, typer.Argument(help="omit for all")] = None,
    json: JsonOpt = False,
) -> None:
    """Awarded, used and remaining accelerator-hours per type."""
    path = f"/api/v1/statements/{scope}" + (f"/{scope_id}" if scope_id else "")
    answer = src.read(
        path,
        lambda c, _: (
            accounting.statement(c, scope, scope_id)
            if scope_id
            else accounting.statements(c, scope)
        ),
    )
    items = [answer] if scope_id else answer  # one statement is listed, as are several
    emit(
        items,
        json or src.is_remote,  # over --url: the server's JSON, as it always printed
        lambda xs: _rows(
            [scope, "type", "awarded h", "used h", "remaining h"],
            [
                [s.scope_id, x.accelerator_type, x.awarded_hours, x.used_hours, x.remaining_hours]
                for s in xs
                for x in s.lines
            ],
        ),
    )
