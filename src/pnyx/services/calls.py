"""Use cases for calls and proposals: open a call, close a phase, submit, list.

Deadlines are compared with the context's clock (``ctx.clock()``). An operator may close a
phase early (``close_phase``); the demo does so instead of waiting for deadlines.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Connection

from pnyx.domain import accounting as acc
from pnyx.domain import allocation as al
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.errors import InvalidInputError, NotFoundError
from pnyx.services.allocation_dto import BillingWeightsView, CallView, ProposalView
from pnyx.services.context import ServiceContext
from pnyx.services.programmes import programme_row
from pnyx.services.record import record
from pnyx.store import allocation_repo as repo
from pnyx.store import identity_repo
from pnyx.store import tables_allocation as ta
from pnyx.store.eventstore import lock_log


def open_call(
    ctx: ServiceContext,
    actor: Actor,
    spec: al.CallSpec,
    in_credits: bool = False,
) -> CallView:
    """Open a call (operators). With ``in_credits`` the spec's budget is in facility credits,
    converted to hours by the billing weights in force; the event records both."""
    require_role(actor, Role.OPERATOR)
    with ctx.db.transaction() as conn:
        version, budget_credits = 0, None
        if in_credits:
            version, weights = current_weights(conn)
            budget_credits = spec.budget
            hours = acc.credits_to_hours(budget_credits, weights)
            if not all(hours.values()):
                raise InvalidInputError(f"credits {budget_credits} buy no hours of some type")
            spec = dataclasses.replace(spec, budget=hours)
        exists = repo.call_row(conn, spec.call_id) is not None
        has_programme = programme_row(conn, spec.programme_id) is not None
        event = al.decide_open_call(spec, exists, has_programme, budget_credits, version)
        record(conn, ctx, actor, [event])
        return call_view(_call(conn, spec.call_id))


def close_phase(ctx: ServiceContext, actor: Actor, call_id: str, phase: str) -> CallView:
    """End a call's submission or review phase now (operators)."""
    require_role(actor, Role.OPERATOR)
    with ctx.db.transaction() as conn:
        state = call_state(_call(conn, call_id))
        record(conn, ctx, actor, [al.decide_close_phase(state, phase, ctx.clock())])
        return call_view(_call(conn, call_id))


def submit_proposal(
    ctx: ServiceContext, actor: Actor, spec: al.ProposalSpec, member_id: str | None = None
) -> ProposalView:
    """Submit a proposal (researchers) before the call's deadline.

    The proposer counts for its principal's member state; ``member_id`` may name it only for
    principals without one. A project keeps the member of its first proposal.
    """
    require_role(actor, Role.RESEARCHER)
    member = _proposer_member(actor, member_id)
    with ctx.db.transaction() as conn:
        if member is not None and identity_repo.member_row(conn, member) is None:
            raise InvalidInputError(f"member {member!r} does not exist")
        owner = repo.project_member(conn, spec.project_id)
        if owner is not None and owner != member:
            raise InvalidInputError(
                f"project {spec.project_id} belongs to member {owner}, not {member}"
            )
        state = call_state(_call(conn, spec.call_id))
        lock_log(conn)
        n = repo.count_rows(conn, ta.proposals, call_id=spec.call_id) + 1
        pid = f"{spec.call_id}.{n:03d}"
        event = al.decide_submit(state, spec, pid, actor.principal_id, member, ctx.clock())
        record(conn, ctx, actor, [event])
        row = repo.proposal_row(conn, pid)
    assert row is not None
    return proposal_view(row)


def set_billing_weights(
    ctx: ServiceContext, actor: Actor, weights: dict[str, object]
) -> BillingWeightsView:
    """Publish a new version of the billing-weight table (operators)."""
    require_role(actor, Role.OPERATOR)
    parsed = acc.parse_weights(weights)
    with ctx.db.transaction() as conn:
        version = repo.billing_table(conn)[0] + 1
        record(conn, ctx, actor, [acc.BillingWeightsSet(version=version, weights=parsed)])
    return BillingWeightsView(version=version, weights=parsed)


def billing_weights(ctx: ServiceContext) -> BillingWeightsView:
    """The billing-weight table in force (public)."""
    with ctx.db.read() as conn:
        version, weights = current_weights(conn)
    return BillingWeightsView(version=version, weights=weights)


def current_weights(conn: Connection) -> tuple[int, dict[str, str]]:
    """(version, weights) in force; version 0 is the built-in default table."""
    version, weights = repo.billing_table(conn)
    return (version, weights) if version else (0, dict(acc.DEFAULT_BILLING_WEIGHTS))


def list_calls(ctx: ServiceContext) -> list[CallView]:
    """Every call, newest first (public)."""
    with ctx.db.read() as conn:
        return [call_view(r) for r in repo.call_rows(conn)]


def get_call(ctx: ServiceContext, call_id: str) -> CallView:
    """One call (public)."""
    with ctx.db.read() as conn:
        return call_view(_call(conn, call_id))


def list_proposals(ctx: ServiceContext, call_id: str) -> list[ProposalView]:
    """A call's proposals in submission order (public)."""
    with ctx.db.read() as conn:
        _call(conn, call_id)
        return [proposal_view(r) for r in repo.proposal_rows(conn, call_id)]


def call_state(row: dict[str, Any]) -> al.CallState:
    """The domain's view of a call row."""
    spec = al.CallSpec(
        call_id=row["call_id"],
        programme_id=row["programme_id"],
        title=row["title"],
        budget=row["budget"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        deadline=row["deadline"],
        review_deadline=row["review_deadline"],
        policy=al.ReviewPolicy(
            row["min_reviewers"], row["score_min"], row["score_max"], row["threshold"]
        ),
    )
    closed = frozenset(filter(None, row["closed_phases"].split(",")))
    return al.CallState(spec, closed, bool(row["published"]))


def call_view(row: dict[str, Any]) -> CallView:
    """The public view of a call row."""
    fields = {k: v for k, v in row.items() if k in CallView.model_fields}
    fields["closed_phases"] = [p for p in row["closed_phases"].split(",") if p]
    return CallView(**fields)


def proposal_view(row: dict[str, Any]) -> ProposalView:
    """The public view of a proposal row."""
    return ProposalView(**{k: v for k, v in row.items() if k in ProposalView.model_fields})


def _call(conn: Connection, call_id: str) -> dict[str, Any]:
    row = repo.call_row(conn, call_id)
    if row is None:
        raise NotFoundError(f"call {call_id!r} does not exist")
    return row


def _proposer_member(actor: Actor, member_id: str | None) -> str | None:
    if actor.member_id is not None and member_id not in (None, actor.member_id):
        raise InvalidInputError(
            f"{actor.principal_id} counts for member {actor.member_id}, not {member_id}"
        )
    return actor.member_id or member_id
