"""Council services on SQLite and PostgreSQL: weights, proposals, signed ballots, close, enact."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from council_setup import OPERATOR, SHARES, Council, build_council, event_count, weight_table
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PnyxError,
    VerificationError,
)
from pnyx.services import council, council_read, identity
from pnyx.services.context import ServiceContext
from pnyx.services.council_dto import ResolutionView
from pnyx.store.replay import check_replay

RESEARCHER = Actor("ada", frozenset({Role.RESEARCHER}))


@pytest.fixture
def c(ctx: ServiceContext) -> Council:
    return build_council(ctx)


def rejected(
    ctx: ServiceContext, error: type[PnyxError], match: str, call: Callable[[], object]
) -> None:
    """``call`` raises ``error`` matching ``match`` and writes nothing."""
    before = event_count(ctx)
    with pytest.raises(error, match=match):
        call()
    assert event_count(ctx) == before


# --- weights and proposals ----------------------------------------------------------------------


def test_first_weight_table_by_operator_later_ones_only_by_resolution(c: Council) -> None:
    assert council_read.current_weights(c.ctx).version == 1
    again = lambda: council.adopt_weights(c.ctx, OPERATOR, weight_table())  # noqa: E731
    rejected(c.ctx, ConflictError, "update-weights resolution", again)


def test_weights_need_operator_and_admitted_members(ctx: ServiceContext) -> None:
    build_council(ctx, weights=False)
    table = weight_table()
    rejected(
        ctx,
        PermissionDeniedError,
        "needs role operator",
        lambda: council.adopt_weights(ctx, RESEARCHER, table),
    )
    table["xx"] = {"population": 1, "contribution": 0, "accelerators": 0}
    rejected(
        ctx, NotFoundError, "not admitted", lambda: council.adopt_weights(ctx, OPERATOR, table)
    )


def test_researcher_may_not_propose_delegate_may(c: Council) -> None:
    def propose(actor: Actor) -> ResolutionView:
        return council.propose_resolution(
            c.ctx, actor, "set-programme-shares", {"shares": SHARES}, title="t", voting_s=60
        )

    rejected(
        c.ctx, PermissionDeniedError, "needs role delegate or operator", lambda: propose(RESEARCHER)
    )
    assert propose(c.delegates["de"]).status == "open"


@pytest.mark.parametrize(
    ("payload", "error", "match"),
    [
        ({"shares": {**SHARES, "open-models": "0.5"}}, InvalidInputError, "must sum to 1"),
        ({"shares": {"nowhere": 1}}, NotFoundError, "unknown programme"),
        ({"shares": SHARES, "extra": 1}, InvalidInputError, "unknown \\['extra'\\]"),
    ],
)
def test_bad_proposals_write_nothing(
    c: Council, payload: dict[str, object], error: type[PnyxError], match: str
) -> None:
    rejected(c.ctx, error, match, lambda: c.propose(payload=payload))


def test_proposal_needs_a_weight_table(ctx: ServiceContext) -> None:
    c = build_council(ctx, weights=False)
    rejected(ctx, ConflictError, "no weight table", lambda: c.propose())


# --- ballots --------------------------------------------------------------------------------------


def test_every_bad_ballot_is_rejected_and_writes_nothing(c: Council) -> None:
    rid = c.propose().resolution_id
    ctx, fr = c.ctx, c.delegates["fr"]

    def cast(actor: Actor, ballot: council.SignedBallot) -> Callable[[], object]:
        return lambda: council.cast_ballot(ctx, actor, ballot)

    cases = [
        (VerificationError, "bad signature", cast(OPERATOR, c.signed(rid, "de", "yes", key="fr"))),
        (PermissionDeniedError, "delegate of fr, not of de", cast(fr, c.signed(rid, "de", "yes"))),
        (NotFoundError, "unknown resolution", cast(OPERATOR, c.signed("res-9999", "de", "yes"))),
        (
            InvalidInputError,
            "outside the voting window",
            cast(OPERATOR, c.signed(rid, "de", "yes", cast_at="2020-01-01T00:00:00Z")),
        ),
        (
            InvalidInputError,
            "outside the voting window",
            cast(OPERATOR, c.signed(rid, "de", "yes", cast_at=c.later(3600))),
        ),
        (
            PermissionDeniedError,
            "needs role delegate",
            cast(RESEARCHER, c.signed(rid, "de", "yes")),
        ),
    ]
    for error, match, call in cases:
        rejected(ctx, error, match, call)
    forged = c.signed(rid, "de", "yes")
    named = council.SignedBallot(forged.body, forged.signature, principal_id="fr-delegate")
    rejected(ctx, PermissionDeniedError, "not a delegate of de", cast(OPERATOR, named))


def test_ballot_of_a_member_outside_the_electorate_is_rejected(c: Council) -> None:
    identity.admit_member(c.ctx, OPERATOR, "nl", "Netherlands")  # admitted after the snapshot
    identity.create_principal(
        c.ctx, OPERATOR, NewPrincipal("nl-delegate", "nl", frozenset({Role.DELEGATE}), "nl")
    )
    rid = c.propose().resolution_id
    c.keys["nl"] = Ed25519PrivateKey.generate()
    ballot = c.signed(rid, "nl", "yes")
    rejected(
        c.ctx,
        PermissionDeniedError,
        "not in the electorate",
        lambda: council.cast_ballot(c.ctx, OPERATOR, ballot),
    )


def test_suspended_member_may_not_vote(c: Council) -> None:
    rule = {"extends": "eu-qmv", "name": "eu-qmv-pl-suspended", "electorate": {"suspended": ["pl"]}}
    rid = council.propose_resolution(
        c.ctx,
        OPERATOR,
        "set-programme-shares",
        {"shares": SHARES},
        title="t",
        voting_s=60,
        rule=rule,
    ).resolution_id
    rejected(c.ctx, PermissionDeniedError, "suspended", lambda: c.vote(rid, "pl", "yes"))


def test_revoked_key_may_not_sign(c: Council) -> None:
    rid = c.propose().resolution_id
    key_id = identity.list_keys(c.ctx, "de-delegate")[0].key_id
    identity.revoke_key(c.ctx, OPERATOR, key_id)
    rejected(c.ctx, PermissionDeniedError, "revoked", lambda: c.vote(rid, "de", "yes"))


def test_ballot_after_the_window_by_the_server_clock_is_rejected(c: Council) -> None:
    rid = c.propose(voting_s=60).resolution_id
    ballot = c.signed(rid, "de", "yes")  # signed inside the window ...
    c.advance(120)  # ... but submitted after it closed
    rejected(
        c.ctx,
        InvalidInputError,
        "the server's time",
        lambda: council.cast_ballot(c.ctx, OPERATOR, ballot),
    )


def test_changed_ballot_last_one_counts_all_on_record(c: Council) -> None:
    rid = c.propose(rule="simple-majority").resolution_id
    c.vote(rid, "de", "no")
    c.vote(rid, "de", "yes")
    detail = council_read.get_resolution(c.ctx, rid)
    assert [(b.choice, b.counted) for b in detail.ballots] == [("no", False), ("yes", True)]
    assert detail.live_tally is not None and detail.live_tally["counts"]["yes"] == 1
    assert detail.live_tally["counts"]["no"] == 0


# --- close and enact ---------------------------------------------------------------------------


def vote_all(c: Council, rid: str, no: tuple[str, ...] = ()) -> None:
    for member in c.keys:
        c.vote(rid, member, "no" if member in no else "yes")


def test_due_resolution_closes_and_enacts_shares(c: Council) -> None:
    rid = c.propose(voting_s=60).resolution_id
    vote_all(c, rid, no=("pl",))
    assert council.close_due_resolutions(c.ctx) == []  # not due yet
    c.advance(61)
    assert council.close_due_resolutions(c.ctx) == [rid]
    assert council_read.get_resolution(c.ctx, rid).status == "passed"
    shares = council.enacted_shares(c.ctx)
    assert shares.programmes["open-models"] == pytest.approx(0.35)
    assert shares.exact["public-sector"] == "1/10"
    assert check_replay(c.ctx.db).ok


def test_failing_resolution_enacts_nothing(c: Council) -> None:
    rid = c.propose().resolution_id
    vote_all(c, rid, no=("de", "fr", "it"))
    closed = council.close_resolution(c.ctx, OPERATOR, rid)
    assert (closed.status, closed.passed) == ("failed", False)
    assert council.enacted_shares(c.ctx).programmes == {}


def test_early_close_only_when_everyone_voted(c: Council) -> None:
    rid = c.propose().resolution_id
    c.vote(rid, "de", "yes")
    rejected(
        c.ctx,
        ConflictError,
        "missing: es, fr, it, pl",
        lambda: council.close_resolution(c.ctx, OPERATOR, rid),
    )
    rejected(
        c.ctx,
        PermissionDeniedError,
        "needs role operator",
        lambda: council.close_resolution(c.ctx, c.delegates["de"], rid),
    )
    vote_all(c, rid)
    assert council.close_resolution(c.ctx, OPERATOR, rid).status == "passed"
    rejected(c.ctx, ConflictError, "is closed", lambda: c.vote(rid, "de", "no"))


def test_other_kinds_enact_their_policy(c: Council) -> None:
    table = weight_table(extra=1)
    cases = [
        ("admit-member", {"member_id": "nl", "name": "Netherlands"}),
        ("update-weights", {"table": table}),
        ("set-member-shares", {"programme_id": "open-models", "proportional-to": "population"}),
        ("approve-containment", {"project": "bio-eval", "level": "CL-3"}),
        ("change-rule", {"kind": "set-programme-shares", "rule": "unanimity"}),
    ]
    for kind, payload in cases:
        rid = c.propose(rule="simple-majority", kind=kind, payload=payload).resolution_id
        vote_all(c, rid)
        assert council.close_resolution(c.ctx, OPERATOR, rid).status == "passed"
    assert "nl" in {m.member_id for m in identity.list_members(c.ctx).items}
    assert council_read.current_weights(c.ctx).version == 2
    split = council.enacted_shares(c.ctx).members["open-models"]
    assert split["de"] == pytest.approx(84_400_001 / 297_000_005, rel=1e-12)
    assert c.propose(rule=None).rule_name == "unanimity"  # type: ignore[arg-type]
    assert check_replay(c.ctx.db).ok
