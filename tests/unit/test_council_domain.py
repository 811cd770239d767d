"""Council domain: typed payloads, weight tables, windows, signed ballots, close and enact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from pnyx.domain import council as dc
from pnyx.domain import council_enact as enact
from pnyx.domain import council_events as ce
from pnyx.domain.ballot import BallotBody, sign_ballot, verify_ballot_signature
from pnyx.domain.governance import PRESETS, Choice
from pnyx.domain.identity import MemberAdmitted
from pnyx.errors import InvalidInputError, VerificationError

K = dc.ResolutionKind
SHARES = {"a": "0.5", "b": "1/4", "c": "25%"}
TABLE = dc.WeightTable(
    1,
    dc.parse_weights(
        {
            "de": {"population": 84, "contribution": "0.5", "accelerators": 10},
            "fr": {"population": 68, "contribution": "0.3", "accelerators": 0},
            "pl": {"population": 37, "contribution": "0.2", "accelerators": 5},
        }
    ),
)


@pytest.mark.parametrize(
    ("kind", "payload", "match"),
    [
        (K.SET_PROGRAMME_SHARES, {"shares": {"a": "0.5", "b": "0.4"}}, "must sum to 1"),
        (K.SET_PROGRAMME_SHARES, {"shares": {"a": 2, "b": -1}}, "within 0..1"),
        (K.SET_PROGRAMME_SHARES, {"shares": {}}, "non-empty"),
        (K.SET_PROGRAMME_SHARES, {"shares": {"A B": 1}}, "not a valid id"),
        (K.SET_PROGRAMME_SHARES, ["a"], "must be an object"),
        (K.SET_MEMBER_SHARES, {"programme_id": "a"}, "either 'shares' or 'proportional-to'"),
        (K.SET_MEMBER_SHARES, {"programme_id": "a", "proportional-to": "gdp"}, "not a weight key"),
        (K.ADMIT_MEMBER, {"member_id": "nl"}, "missing \\['name'\\]"),
        (K.UPDATE_WEIGHTS, {"table": {"de": {"population": 1}}}, "must have exactly"),
        (K.APPROVE_CONTAINMENT, {"project": "p", "level": "CL-2"}, "only CL-3 and CL-4"),
        (K.APPROVE_RELEASE, {"model": "m", "level": "CL-9"}, "CL-9"),
        (K.CHANGE_RULE, {"kind": "nope", "rule": "eu-qmv"}, "unknown resolution kind"),
        (K.CHANGE_RULE, {"kind": "admit-member", "rule": "nope"}, "unknown rule preset"),
    ],
)
def test_bad_payloads_never_exist(kind: dc.ResolutionKind, payload: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        dc.parse_payload(kind, payload)


def test_payloads_parse_exactly_and_round_trip() -> None:
    shares = dc.parse_payload(K.SET_PROGRAMME_SHARES, {"shares": SHARES})
    assert shares.to_json() == {"shares": {"a": "1/2", "b": "1/4", "c": "1/4"}}
    assert dc.parse_payload(K.SET_PROGRAMME_SHARES, shares.to_json()) == shares
    rule = dc.parse_payload(K.CHANGE_RULE, {"kind": "admit-member", "rule": "unanimity"})
    assert isinstance(rule, dc.ChangeRule) and rule.rule == PRESETS["unanimity"]


def test_member_shares_proportional_to_a_weight() -> None:
    payload = dc.parse_payload(
        K.SET_MEMBER_SHARES, {"programme_id": "open", "proportional-to": "accelerators"}
    )
    assert isinstance(payload, dc.MemberShares)
    assert payload.resolve(TABLE) == {"de": Fraction(2, 3), "fr": 0, "pl": Fraction(1, 3)}


def test_weights_refuse_negative_and_unknown_keys() -> None:
    with pytest.raises(InvalidInputError, match=">= 0"):
        dc.parse_weights({"de": {"population": -1, "contribution": 0, "accelerators": 0}})
    assert [m.id for m in TABLE.electorate().members] == ["de", "fr", "pl"]


def test_window_bounds() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    window = dc.Window(t0, t0 + timedelta(hours=1))
    assert window.contains(t0) and not window.contains(t0 + timedelta(hours=1))
    with pytest.raises(InvalidInputError, match="outside the voting window"):
        window.require_open(t0 - timedelta(seconds=1), "cast_at")
    with pytest.raises(InvalidInputError, match="close after it opens"):
        dc.Window(t0, t0)
    with pytest.raises(InvalidInputError, match="time zone"):
        dc.parse_time("2026-01-01T00:00:00", "cast_at")


def public_b64(key: Ed25519PrivateKey) -> str:
    import base64

    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def test_ballot_signature_binds_every_field() -> None:
    key = Ed25519PrivateKey.generate()
    body = BallotBody("res-0001", "de", Choice.YES, "2026-01-01T00:00:00Z")
    assert body.canonical() == (
        b'{"cast_at":"2026-01-01T00:00:00Z","choice":"yes","member":"de","resolution":"res-0001"}'
    )
    signature = sign_ballot(body, key)
    verify_ballot_signature(body, signature, public_b64(key))
    for changed in (
        BallotBody("res-0001", "de", Choice.NO, body.cast_at),
        BallotBody("res-0002", "de", Choice.YES, body.cast_at),
        BallotBody("res-0001", "fr", Choice.YES, body.cast_at),
        BallotBody("res-0001", "de", Choice.YES, "2026-01-01T00:00:01Z"),
    ):
        with pytest.raises(VerificationError, match="bad signature"):
            verify_ballot_signature(changed, signature, public_b64(key))
    with pytest.raises(VerificationError, match="bad signature"):
        verify_ballot_signature(body, signature, public_b64(Ed25519PrivateKey.generate()))
    with pytest.raises(VerificationError, match="base64"):
        verify_ballot_signature(body, "not base64!", public_b64(key))


def test_ballot_choice_is_closed() -> None:
    with pytest.raises(InvalidInputError, match="'yes', 'no', 'abstain'"):
        BallotBody("res-1", "de", "maybe", "2026-01-01T00:00:00Z")  # type: ignore[arg-type]


@given(st.lists(st.tuples(st.sampled_from(["de", "fr", "pl"]), st.sampled_from(list(Choice)))))
def test_last_ballot_per_member_counts(votes: list[tuple[str, Choice]]) -> None:
    cast = [enact.CastBallot(i, m, str(c)) for i, (m, c) in enumerate(votes)]
    expected = {m: str(c) for m, c in votes}  # a dict keeps the last write per key
    assert {m: b.choice for m, b in enact.last_ballots(reversed(cast)).items()} == expected


def test_close_counts_the_snapshot_and_enacts_shares() -> None:
    ballots = [
        enact.CastBallot(1, "de", "no"),
        enact.CastBallot(2, "fr", "yes"),
        enact.CastBallot(3, "de", "yes"),
    ]
    result, closed = enact.close_events("res-1", PRESETS["simple-majority"], TABLE, ballots)
    assert result.passed and closed.counted == {"de": 3, "fr": 2}
    assert closed.tally["counts"]["yes"] == 2
    payload = dc.parse_payload(K.SET_PROGRAMME_SHARES, {"shares": SHARES})
    events = enact.enactment_events("res-1", payload, TABLE, 2)
    assert events == [ce.ProgrammeSharesEnacted("res-1", {"a": "1/2", "b": "1/4", "c": "1/4"})]


def test_enactment_of_each_kind() -> None:
    admit = dc.parse_payload(K.ADMIT_MEMBER, {"member_id": "nl", "name": "NL"})
    assert enact.enactment_events("r", admit, TABLE, 2) == [MemberAdmitted("nl", "NL")]
    weights = dc.parse_payload(K.UPDATE_WEIGHTS, {"table": dc.weights_json(TABLE.weights)})
    (adopted,) = enact.enactment_events("r", weights, TABLE, 7)
    assert isinstance(adopted, ce.WeightTableAdopted) and adopted.version == 7
    assert adopted.source == "resolution:r"
    release = dc.parse_payload(K.APPROVE_RELEASE, {"model": "m1", "level": "CL-4"})
    assert enact.enactment_events("r", release, TABLE, 2) == [ce.ReleaseApproved("r", "m1", "CL-4")]
