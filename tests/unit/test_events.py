"""Canonical encoding and event registry."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from pnyx.domain.events import (
    Event,
    Visibility,
    canonical_json,
    commitment,
    decode_event,
    event_type,
)
from pnyx.domain.identity import MemberAdmitted, TokenIssued
from pnyx.errors import InvalidInputError

SAFE_INTS = st.integers(-(2**53) + 1, 2**53 - 1)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | SAFE_INTS
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON)
def test_canonical_json_equals_reference_jcs(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@given(st.dictionaries(st.text(), SAFE_INTS | st.text(), max_size=6))
def test_canonical_json_is_independent_of_key_order(value: dict[str, object]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_json(value) == canonical_json(reordered)


def test_canonical_json_known_bytes() -> None:
    value = {"b": [1, True, None], "a": "é\n\u2028", "c": {"z": 0, "y": -5}}
    expected = '{"a":"é\\n\u2028","b":[1,true,null],"c":{"y":-5,"z":0}}'
    assert canonical_json(value) == expected.encode()


def test_unencodable_values_are_refused() -> None:
    with pytest.raises(InvalidInputError):
        canonical_json({"x": float("nan")})
    with pytest.raises(InvalidInputError):
        canonical_json({"x": object()})


def test_event_round_trip_through_payload() -> None:
    event = MemberAdmitted(member_id="de", name="Germany")
    back = decode_event(event.KIND, event.VERSION, json.loads(canonical_json(event.payload())))
    assert back == event


def test_decode_refuses_unknown_kind_and_wrong_fields() -> None:
    with pytest.raises(InvalidInputError, match="unknown event kind"):
        decode_event("nope", 1, {})
    with pytest.raises(InvalidInputError, match="fields"):
        decode_event("member.admitted", 1, {"member_id": "de"})


def test_private_fields_split_and_commitment_binds() -> None:
    event = TokenIssued(token_id="t", principal_id="p", label="l", token_hash="h" * 64)
    assert "token_hash" not in event.public_payload()
    assert event.private_payload() == {"token_hash": "h" * 64}
    salt = b"\x01" * 32
    c1 = commitment(salt, event.private_payload())
    assert c1 != commitment(salt, {"token_hash": "g" * 64})
    assert c1 != commitment(b"\x02" * 32, event.private_payload())
    with pytest.raises(InvalidInputError, match="32 bytes"):
        commitment(b"short", {})


def test_registry_refuses_private_fields_on_public_event() -> None:
    with pytest.raises(TypeError, match="PUBLIC visibility"):

        @event_type
        @dataclass(frozen=True)
        class Leaky(Event):
            KIND = "test.leaky"
            PRIVATE_FIELDS = frozenset({"secret"})
            secret: str

    assert Visibility.SEALED.value == "sealed"
