"""The Council part of ``pnyx demo``: weights, delegates with keys, two eu-qmv resolutions.

Nine members with their 2024 populations (Eurostat, rounded): the first resolution passes,
the second reaches 55 % of the members (5 of 9) but not 65 % of the population, and four
members vote no, so the blocking minority forms and the population clause decides the fail.
A third splits the open-models programme among members in proportion to their contribution.
All close early (every member voted); the first and third are enacted.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pnyx.domain.ballot import BallotBody, sign_ballot
from pnyx.domain.governance import Choice
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.services import council, council_read, identity, programmes
from pnyx.services.context import ServiceContext

SYSTEM = Actor.system()
# member: (name, population, contribution share, contributed accelerators)
MEMBERS: dict[str, tuple[str, int, str, int]] = {
    "de": ("Germany", 83_445_000, "0.24", 24_000),
    "fr": ("France", 68_402_000, "0.19", 18_000),
    "it": ("Italy", 58_990_000, "0.15", 14_000),
    "es": ("Spain", 48_620_000, "0.12", 12_000),
    "pl": ("Poland", 36_620_000, "0.09", 8_000),
    "nl": ("Netherlands", 17_940_000, "0.07", 8_000),
    "be": ("Belgium", 11_830_000, "0.05", 6_000),
    "se": ("Sweden", 10_550_000, "0.05", 6_000),
    "at": ("Austria", 9_160_000, "0.04", 4_000),
}
PASSING_SHARES = {
    "open-models": "0.35",
    "safety-research": "0.15",
    "academic-research": "0.25",
    "sme-innovation": "0.15",
    "public-sector": "0.10",
}
FAILING_SHARES = {
    "open-models": "0.20",
    "safety-research": "0.10",
    "academic-research": "0.20",
    "sme-innovation": "0.40",
    "public-sector": "0.10",
}
MEMBER_KIND = "set-member-shares"
MEMBER_SPLIT = {"programme_id": "open-models", "proportional-to": "contribution"}
VOTING_S = 3600


def run_council_demo(ctx: ServiceContext) -> dict[str, Any]:
    """Build the Council demo (idempotent on an existing store); returns a summary."""
    _ensure_members(ctx)
    programmes.ensure_programmes(ctx, SYSTEM)
    if not council_read.list_resolutions(ctx):
        keys = _ensure_delegates(ctx)
        council.adopt_weights(ctx, SYSTEM, _weights())
        _vote(ctx, keys, "Programme shares 2027", PASSING_SHARES, no=("at",))
        _vote(ctx, keys, "Shift to SME innovation", FAILING_SHARES, no=("de", "fr", "it", "es"))
        _vote(ctx, keys, "Open models by contribution", MEMBER_SPLIT, no=(), kind=MEMBER_KIND)
    return {
        "council_members": len(MEMBERS),
        "resolutions": [
            {
                "id": r.resolution_id,
                "title": r.title,
                "status": r.status,
                "decided_by": r.decided_by,
            }
            for r in council_read.list_resolutions(ctx)
        ],
        "enacted_shares": council_read.enacted_shares(ctx).model_dump(exclude={"exact"}),
    }


def _weights() -> dict[str, dict[str, Any]]:
    return {
        m: {"population": pop, "contribution": contrib, "accelerators": acc}
        for m, (_, pop, contrib, acc) in MEMBERS.items()
    }


def _ensure_members(ctx: ServiceContext) -> None:
    existing = {m.member_id for m in identity.list_members(ctx, 0, 500).items}
    for member_id, (name, *_rest) in MEMBERS.items():
        if member_id not in existing:
            identity.admit_member(ctx, SYSTEM, member_id, name)


def _ensure_delegates(ctx: ServiceContext) -> dict[str, Ed25519PrivateKey]:
    """One delegate per member, each with a fresh ballot key (the demo keeps keys in memory)."""
    existing = {p.principal_id for p in identity.list_principals(ctx, SYSTEM, 0, 500).items}
    keys: dict[str, Ed25519PrivateKey] = {}
    for member_id, (name, *_rest) in MEMBERS.items():
        pid = f"{member_id}-delegate"
        if pid not in existing:
            new = NewPrincipal(pid, f"Delegate of {name}", frozenset({Role.DELEGATE}), member_id)
            identity.create_principal(ctx, SYSTEM, new)
        keys[member_id] = Ed25519PrivateKey.generate()
        raw = keys[member_id].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        identity.register_key(ctx, SYSTEM, pid, _b64(raw), "ballot")
    return keys


def _vote(
    ctx: ServiceContext,
    keys: dict[str, Ed25519PrivateKey],
    title: str,
    payload: dict[str, Any],
    no: tuple[str, ...],
    kind: str = "set-programme-shares",
) -> None:
    res = council.propose_resolution(
        ctx,
        SYSTEM,
        kind,
        payload if kind != "set-programme-shares" else {"shares": payload},
        title=title,
        voting_s=VOTING_S,
        rule="eu-qmv",
    )
    for member_id, key in keys.items():
        choice = Choice.NO if member_id in no else Choice.YES
        body = BallotBody(res.resolution_id, member_id, choice, ctx.now())
        ballot = council.SignedBallot(body, sign_ballot(body, key), f"{member_id}-delegate")
        council.cast_ballot(ctx, SYSTEM, ballot)
    council.close_resolution(ctx, SYSTEM, res.resolution_id)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
