"""What the Council services return (also the API's response schemas)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class WeightTableView(BaseModel):
    """A version of the weight table."""

    version: int
    weights: dict[str, dict[str, str]]
    source: str
    adopted_at: str


class BallotView(BaseModel):
    """A recorded signed ballot."""

    seq: int
    member_id: str
    choice: str
    cast_at: str
    principal_id: str
    key_id: str
    signature: str
    counted: bool = False  # the member's last ballot (the one the tally counts)


class ResolutionView(BaseModel):
    """A resolution with its outcome once closed."""

    resolution_id: str
    kind: str
    title: str
    payload: dict[str, Any]
    rule_name: str
    rule: dict[str, Any]
    weights_version: int
    opens_at: str
    closes_at: str
    proposed_by: str
    status: str
    passed: bool | None
    decided_by: str | None
    tally: dict[str, Any] | None
    closed_at: str | None


class ResolutionDetail(ResolutionView):
    """A resolution with its ballots and the live tally (for an open one)."""

    ballots: list[BallotView]
    live_tally: dict[str, Any] | None = None


class EnactedShares(BaseModel):
    """The policy the scheduler and allocation read: enacted shares (floats; exact as text)."""

    programmes: dict[str, float]
    members: dict[str, dict[str, float]]  # programme -> member -> share of that programme
    exact: dict[str, str]  # programme -> exact fraction text


class RecountReport(BaseModel):
    """``pnyx council verify``: the recount from the public record against the recorded tally."""

    resolution_id: str
    ok: bool
    ballots: int
    counted: dict[str, str]
    recorded_passed: bool | None
    recounted_passed: bool | None
    error: str | None = None
