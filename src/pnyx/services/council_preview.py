"""What-if of a share resolution: accelerator-hours per day before and after (static).

Static share arithmetic: capacity (every accelerator x 24 h) x programme share x member share
within the programme. The simulator replaces this once the scheduler can be driven by shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pnyx.domain import council as dc
from pnyx.errors import InvalidInputError
from pnyx.services import council_read, inventory
from pnyx.services.context import ServiceContext
from pnyx.services.council_dto import EnactedShares

Split = Mapping[str, Mapping[str, float]]


def preview_resolution(ctx: ServiceContext, resolution_id: str) -> dict[str, Any]:
    """Programme and member accelerator-hours per day, before and after enacting the
    resolution (a set-programme-shares or set-member-shares one)."""
    res = council_read.get_resolution(ctx, resolution_id)
    kind = dc.parse_kind(res.kind)
    payload = dc.parse_payload(kind, res.payload)
    now = council_read.enacted_shares(ctx)
    weights = council_read.current_weights(ctx, res.weights_version)
    table = dc.WeightTable(weights.version, dc.parse_weights(weights.weights))
    programmes, members = _after(payload, now, table)
    facility = inventory.facility_summary(ctx)
    per_day = float(facility.accelerators * 24)
    return {
        "resolution_id": resolution_id,
        "kind": str(kind),
        "capacity_accel_hours_per_day": per_day,
        "by_type_accel_hours_per_day": {k: v * 24 for k, v in sorted(facility.by_type.items())},
        "programmes": _diff(_hours(now.programmes, per_day), _hours(programmes, per_day)),
        "members": _diff(
            member_hours(now.programmes, now.members, per_day),
            member_hours(programmes, members, per_day),
        ),
    }


def member_hours(programmes: Mapping[str, float], split: Split, per_day: float) -> dict[str, float]:
    """Each member's hours per day: sum over programmes of programme share x member share."""
    out: dict[str, float] = {}
    for pid, share in programmes.items():
        for member, member_share in split.get(pid, {}).items():
            out[member] = out.get(member, 0.0) + per_day * share * member_share
    return out


def _after(
    payload: dc.Payload, now: EnactedShares, table: dc.WeightTable
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    programmes = dict(now.programmes)
    members = {k: dict(v) for k, v in now.members.items()}
    if isinstance(payload, dc.ProgrammeShares):
        programmes = {k: float(v) for k, v in payload.shares.items()}
    elif isinstance(payload, dc.MemberShares):
        members[payload.programme_id] = {k: float(v) for k, v in payload.resolve(table).items()}
    else:
        raise InvalidInputError("preview needs a set-programme-shares or set-member-shares one")
    return programmes, members


def _hours(shares: Mapping[str, float], per_day: float) -> dict[str, float]:
    return {k: per_day * v for k, v in shares.items()}


def _diff(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, dict[str, float]]:
    keys = sorted(set(before) | set(after))
    return {
        k: {
            "before": round(before.get(k, 0.0), 3),
            "after": round(after.get(k, 0.0), 3),
            "change": round(after.get(k, 0.0) - before.get(k, 0.0), 3),
        }
        for k in keys
    }
