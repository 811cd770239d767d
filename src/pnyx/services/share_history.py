"""Enacted shares over time, and each member's share of the facility (public reads).

The Council's share resolutions are enacted when they close; replaying the passed
``set-programme-shares`` and ``set-member-shares`` resolutions in the order they closed gives
the shares in force at any moment (the last state equals the projection
:func:`pnyx.services.council_read.enacted_shares`).

A member's **target** (its share of the facility) is ``sum over programmes p of P_p x M_pm``
over ``sum of P_p`` (``P``: programme shares, ``M``: member shares within a programme). A
programme the Council has not split among members is open to every member equally
(``M_pm = 1 / members``); with no programme share enacted, the programmes that are split
weigh equally; with nothing enacted every member has the same target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from pnyx.domain import council as dc
from pnyx.domain.allocation import parse_instant
from pnyx.services.context import ServiceContext
from pnyx.store import council_repo as repo

SHARE_KINDS = (dc.ResolutionKind.SET_PROGRAMME_SHARES, dc.ResolutionKind.SET_MEMBER_SHARES)
Split = Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class ShareState:
    """Programme shares and, per programme, member shares (floats)."""

    programmes: dict[str, float] = field(default_factory=dict)
    members: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Enactment:
    """The shares in force from ``at`` on, after ``resolution_id`` was enacted."""

    at: datetime
    resolution_id: str
    state: ShareState


def member_targets(
    programmes: Mapping[str, float], split: Split, members: Sequence[str]
) -> dict[str, float]:
    """Each of ``members``' share of the facility, summing to 1 over them (module doc)."""
    if not members:
        return {}
    raw = dict.fromkeys(members, 0.0)
    for p, weight in _programme_weights(programmes, split).items():
        for m, share in _member_split(split.get(p), members).items():
            raw[m] += weight * share
    total = sum(raw.values())
    if not total > 0:
        return dict.fromkeys(members, 1.0 / len(members))
    return {m: v / total for m, v in raw.items()}


def programme_weights(
    programmes: Mapping[str, float], split: Split, member: str, members: Sequence[str]
) -> dict[str, float]:
    """How ``member``'s compute divides among programmes: ``P_p x M_pm`` normalised (the
    Fair-Tree split below the member when every programme has demand)."""
    raw = {
        p: w * _member_split(split.get(p), members).get(member, 0.0)
        for p, w in _programme_weights(programmes, split).items()
    }
    total = sum(raw.values())
    return {p: v / total for p, v in sorted(raw.items()) if v > 0} if total > 0 else {}


def _programme_weights(programmes: Mapping[str, float], split: Split) -> dict[str, float]:
    """The enacted programme shares; equal ones over the split programmes when none is."""
    if programmes:
        return {p: float(v) for p, v in programmes.items() if v > 0}
    return dict.fromkeys(sorted(split), 1.0)


def _member_split(shares: Mapping[str, float] | None, members: Sequence[str]) -> dict[str, float]:
    """A programme's enacted split among ``members``; equal when it has none."""
    if shares is None or not any(float(v) > 0 for v in shares.values()):
        return dict.fromkeys(members, 1.0 / len(members))
    return {m: float(shares.get(m, 0.0)) for m in members}


def enactments(ctx: ServiceContext) -> list[Enactment]:
    """Every passed share resolution, in the order enacted, with the shares in force after it."""
    with ctx.db.read() as conn:
        rows = [
            r
            for r in repo.resolution_rows(conn, dc.ResolutionStatus.PASSED)
            if r["kind"] in SHARE_KINDS and r["closed_at"]
        ]
        rows.sort(key=lambda r: (r["closed_at"], r["proposed_seq"]))
        tables = {v: repo.weights_row(conn, v) for v in {r["weights_version"] for r in rows}}
    out: list[Enactment] = []
    state = ShareState()
    for row in rows:
        state = apply(state, row, tables[row["weights_version"]])
        at = parse_instant(row["closed_at"], "closed_at")
        out.append(Enactment(at, row["resolution_id"], state))
    return out


def apply(
    state: ShareState, row: Mapping[str, Any], weights: Mapping[str, Any] | None
) -> ShareState:
    """``state`` after enacting the share resolution ``row`` (resolved with its weight table)."""
    payload = dc.parse_payload(dc.parse_kind(row["kind"]), row["payload"])
    members = {k: dict(v) for k, v in state.members.items()}
    programmes = dict(state.programmes)
    if isinstance(payload, dc.ProgrammeShares):
        programmes = {k: float(v) for k, v in payload.shares.items()}
    elif isinstance(payload, dc.MemberShares):
        table = dc.WeightTable(
            int(weights["version"]) if weights else 0,
            dc.parse_weights(weights["weights"]) if weights else {},
        )
        members[payload.programme_id] = {
            k: float(Fraction(v)) for k, v in payload.resolve(table).items()
        }
    return ShareState(programmes, members)


def state_at(history: Sequence[Enactment], moment: datetime) -> ShareState:
    """The shares in force at ``moment`` (aware)."""
    state = ShareState()
    for e in history:
        if e.at <= moment:
            state = e.state
    return state


def state_before(history: Sequence[Enactment], resolution_id: str) -> ShareState | None:
    """The shares in force just before ``resolution_id`` was enacted (None: not enacted)."""
    previous = ShareState()
    for e in history:
        if e.resolution_id == resolution_id:
            return previous
        previous = e.state
    return None
