"""Council reads (public): resolutions with ballots and live tallies, weights, enacted shares."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from pnyx.domain import council as dc
from pnyx.domain import council_enact as enact
from pnyx.domain.ballot import BallotBody, verify_ballot_signature
from pnyx.domain.governance import parse_rule
from pnyx.errors import NotFoundError, VerificationError
from pnyx.services.context import ServiceContext
from pnyx.services.council_dto import (
    BallotView,
    EnactedShares,
    ResolutionDetail,
    ResolutionView,
    WeightTableView,
)
from pnyx.store import council_repo as repo

_VIEW_FIELDS = tuple(ResolutionView.model_fields)


def resolution_view(row: dict[str, Any]) -> ResolutionView:
    """A projection row as a view."""
    return ResolutionView(**{k: row[k] for k in _VIEW_FIELDS})


def weight_view(row: dict[str, Any]) -> WeightTableView:
    """A weight-table row as a view."""
    return WeightTableView(**{k: row[k] for k in WeightTableView.model_fields})


def list_resolutions(ctx: ServiceContext, status: str | None = None) -> list[ResolutionView]:
    """Every resolution, oldest first."""
    with ctx.db.read() as conn:
        return [resolution_view(r) for r in repo.resolution_rows(conn, status)]


def get_resolution(ctx: ServiceContext, resolution_id: str) -> ResolutionDetail:
    """One resolution with every ballot (the counted one marked) and, while open, its tally
    so far."""
    with ctx.db.read() as conn:
        row = repo.resolution_row(conn, resolution_id)
        if row is None:
            raise NotFoundError(f"unknown resolution {resolution_id!r}")
        ballots = repo.ballot_rows(conn, resolution_id)
        weights = repo.weights_row(conn, row["weights_version"])
    assert weights is not None
    cast = [enact.CastBallot(b["seq"], b["member_id"], b["choice"]) for b in ballots]
    last = {b.seq for b in enact.last_ballots(cast).values()}
    live = None
    if row["status"] == dc.ResolutionStatus.OPEN:
        table = dc.WeightTable(weights["version"], dc.parse_weights(weights["weights"]))
        live = enact.count(parse_rule(row["rule"]), table, cast).to_json()
    return ResolutionDetail(
        **resolution_view(row).model_dump(),
        ballots=[BallotView(counted=b["seq"] in last, **_ballot(b)) for b in ballots],
        live_tally=live,
    )


def current_weights(ctx: ServiceContext, version: int | None = None) -> WeightTableView:
    """The weight table in force (or a given version)."""
    with ctx.db.read() as conn:
        row = repo.weights_row(conn, version)
    if row is None:
        raise NotFoundError("no weight table" if version is None else f"no weight table v{version}")
    return weight_view(row)


def enacted_shares(ctx: ServiceContext) -> EnactedShares:
    """The enacted programme shares and, per programme, the member shares (what the scheduler
    and allocation read)."""
    with ctx.db.read() as conn:
        programmes, members = repo.share_rows(conn)
    split: dict[str, dict[str, float]] = {}
    for r in members:
        split.setdefault(r["programme_id"], {})[r["member_id"]] = float(Fraction(r["share"]))
    return EnactedShares(
        programmes={r["programme_id"]: float(Fraction(r["share"])) for r in programmes},
        members=split,
        exact={r["programme_id"]: r["share"] for r in programmes},
    )


def signature_checks(ctx: ServiceContext, resolution_id: str) -> dict[int, str]:
    """Each ballot's signature checked again against its registered key: "valid" or why not."""
    with ctx.db.read() as conn:
        ballots = repo.ballot_rows(conn, resolution_id)
        keys = {k["key_id"]: k for k in repo.ballot_key_rows(conn, _signers(ballots))}
    out: dict[int, str] = {}
    for b in ballots:
        key = keys.get(b["key_id"])
        body = BallotBody(resolution_id, b["member_id"], b["choice"], b["cast_at"])
        try:
            if key is None:
                raise VerificationError(f"key {b['key_id']} is not registered")
            verify_ballot_signature(body, b["signature"], key["public_key"])
            out[b["seq"]] = "valid"
        except VerificationError as e:
            out[b["seq"]] = str(e)
    return out


def _signers(ballots: list[dict[str, Any]]) -> list[str]:
    return sorted({b["principal_id"] for b in ballots})


def _ballot(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in BallotView.model_fields if k != "counted"}
