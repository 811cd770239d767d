"""A small council for tests: 5 members with weights, delegates with ballot keys, programmes."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select

from pnyx.domain.ballot import BallotBody, sign_ballot
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.services import council, identity, programmes
from pnyx.services.context import ServiceContext, format_time
from pnyx.services.council_dto import BallotView, ResolutionView
from pnyx.store import tables as t

OPERATOR = Actor.system()
POPULATION = {"de": 84_400_000, "fr": 68_400_000, "it": 59_000_000, "es": 48_600_000}
POPULATION |= {"pl": 36_600_000}
SHARES = {
    "open-models": "0.35",
    "safety-research": "0.15",
    "academic-research": "0.25",
    "sme-innovation": "0.15",
    "public-sector": "0.10",
}


@dataclass
class Council:
    """The test council: its keys and delegates' actors."""

    ctx: ServiceContext
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)
    delegates: dict[str, Actor] = field(default_factory=dict)

    def propose(self, rule: str = "eu-qmv", voting_s: int = 60, **kw: object) -> ResolutionView:
        kind = str(kw.pop("kind", "set-programme-shares"))
        payload = kw.pop("payload", {"shares": SHARES})
        return council.propose_resolution(
            self.ctx, OPERATOR, kind, payload, title="t", voting_s=voting_s, rule=rule
        )

    def signed(
        self,
        rid: str,
        member: str,
        choice: str,
        *,
        key: str | None = None,
        cast_at: str | None = None,
    ) -> council.SignedBallot:
        body = BallotBody(rid, member, choice, cast_at or self.ctx.now())  # type: ignore[arg-type]
        signature = sign_ballot(body, self.keys[key or member])
        return council.SignedBallot(body, signature)

    def vote(self, rid: str, member: str, choice: str) -> BallotView:
        return council.cast_ballot(
            self.ctx, self.delegates[member], self.signed(rid, member, choice)
        )

    def advance(self, seconds: float) -> None:
        self.ctx.clock.now += timedelta(seconds=seconds)  # type: ignore[attr-defined]

    def later(self, seconds: float) -> str:
        return format_time(self.ctx.clock.now + timedelta(seconds=seconds))  # type: ignore[attr-defined]


def event_count(ctx: ServiceContext) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)


def build_council(ctx: ServiceContext, weights: bool = True) -> Council:
    """Members de, fr, it, es, pl with weights; one delegate each with a registered key."""
    c = Council(ctx)
    programmes.ensure_programmes(ctx, OPERATOR)
    for member, population in POPULATION.items():
        identity.admit_member(ctx, OPERATOR, member, member.upper())
        pid = f"{member}-delegate"
        identity.create_principal(
            ctx, OPERATOR, NewPrincipal(pid, pid, frozenset({Role.DELEGATE}), member)
        )
        c.keys[member] = Ed25519PrivateKey.generate()
        raw = c.keys[member].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        identity.register_key(ctx, OPERATOR, pid, base64.b64encode(raw).decode(), "ballot")
        c.delegates[member] = Actor(pid, frozenset({Role.DELEGATE}), member)
        _ = population
    if weights:
        council.adopt_weights(ctx, OPERATOR, weight_table())
    return c


def weight_table(extra: int = 0) -> dict[str, dict[str, object]]:
    return {
        m: {"population": p + extra, "contribution": "0.2", "accelerators": 1000}
        for m, p in POPULATION.items()
    }
