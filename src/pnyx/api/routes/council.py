"""The Council: weight tables, resolutions, signed ballots, close, enacted shares."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from pnyx.api.deps import Caller, Ctx
from pnyx.api.schemas import Body
from pnyx.domain.ballot import BallotBody
from pnyx.services import council as svc
from pnyx.services import council_read as read
from pnyx.services.council_dto import (
    BallotView,
    EnactedShares,
    ResolutionDetail,
    ResolutionView,
    WeightTableView,
)

router = APIRouter(prefix="/api/v1/council", tags=["council"])


class WeightsIn(Body):
    """The first weight table: {member: {population, contribution, accelerators}}."""

    weights: dict[str, dict[str, Any]]


class ResolutionIn(Body):
    """Propose a resolution; voting opens now and lasts ``voting_s`` seconds."""

    kind: str = Field(min_length=1, max_length=40)
    payload: dict[str, Any]
    title: str = Field(min_length=1, max_length=200)
    voting_s: int = Field(ge=1, le=366 * 86400)
    rule: str | dict[str, Any] | None = None


class BallotIn(Body):
    """A signed ballot: the body fields, the base64 signature, optionally the signer."""

    member: str = Field(min_length=1, max_length=63)
    choice: str = Field(min_length=1, max_length=8)
    cast_at: str = Field(min_length=1, max_length=40)
    signature: str = Field(min_length=1, max_length=100)
    principal_id: str | None = None
    key_id: str | None = None


@router.get("/weights")
def get_weights(ctx: Ctx, version: int | None = None) -> WeightTableView:
    """The weight table in force (or one version)."""
    return read.current_weights(ctx, version)


@router.post("/weights", status_code=status.HTTP_201_CREATED)
def set_weights(body: WeightsIn, ctx: Ctx, actor: Caller) -> WeightTableView:
    """Set the first weight table (operators)."""
    return svc.adopt_weights(ctx, actor, body.weights)


@router.get("/shares")
def get_shares(ctx: Ctx) -> EnactedShares:
    """The enacted programme and member shares."""
    return read.enacted_shares(ctx)


@router.get("/resolutions")
def list_resolutions(ctx: Ctx) -> list[ResolutionView]:
    """Every resolution with its status and outcome."""
    return read.list_resolutions(ctx)


@router.post("/resolutions", status_code=status.HTTP_201_CREATED)
def propose(body: ResolutionIn, ctx: Ctx, actor: Caller) -> ResolutionView:
    """Propose a resolution (delegates and operators)."""
    return svc.propose_resolution(
        ctx,
        actor,
        body.kind,
        body.payload,
        title=body.title,
        voting_s=body.voting_s,
        rule=body.rule,
    )


@router.get("/resolutions/{resolution_id}")
def get_resolution(resolution_id: str, ctx: Ctx) -> ResolutionDetail:
    """One resolution with every ballot and, while open, the tally so far."""
    return read.get_resolution(ctx, resolution_id)


@router.post("/resolutions/{resolution_id}/ballots", status_code=status.HTTP_201_CREATED)
def cast(resolution_id: str, body: BallotIn, ctx: Ctx, actor: Caller) -> BallotView:
    """Cast a signed ballot (the delegate itself, or an operator relaying it)."""
    ballot = BallotBody(resolution_id, body.member, body.choice, body.cast_at)  # type: ignore[arg-type]
    signed = svc.SignedBallot(ballot, body.signature, body.principal_id, body.key_id)
    return svc.cast_ballot(ctx, actor, signed)


@router.post("/resolutions/{resolution_id}/close")
def close(resolution_id: str, ctx: Ctx, actor: Caller) -> ResolutionView:
    """Close a resolution: after its window, or early once every eligible member voted."""
    return svc.close_resolution(ctx, actor, resolution_id)
