"""parse_canonical_json accepts exactly the texts that canonical_json produces."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pnyx.domain.canonical import parse_canonical_json
from pnyx.domain.events import canonical_json
from pnyx.errors import InvalidInputError

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


def reference_ok(data: bytes) -> bool:
    """The definition: the text re-encodes to the same bytes with canonical_json."""
    try:
        return canonical_json(json.loads(data)) == data
    except (ValueError, UnicodeError, InvalidInputError):
        return False


@given(JSON)
def test_canonical_text_round_trips(value: object) -> None:
    try:
        data = canonical_json(value)
    except InvalidInputError:  # e.g. integers beyond 2**53: no canonical form
        return
    if reference_ok(data):
        assert canonical_json(parse_canonical_json(data)) == data
    else:  # 2.0**53 encodes as an integer that canonical_json then refuses
        with pytest.raises(InvalidInputError, match="not canonical JSON"):
            parse_canonical_json(data)


@given(JSON, st.sampled_from(["sorted", "spaced", "ascii", "unsorted"]))
def test_agrees_with_reference_on_other_encodings(value: object, style: str) -> None:
    options = {
        "sorted": {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False},
        "spaced": {"sort_keys": True},
        "ascii": {"sort_keys": True, "separators": (",", ":")},
        "unsorted": {"separators": (",", ":"), "ensure_ascii": False},
    }[style]
    try:
        data = json.dumps(value, **options).encode()  # type: ignore[arg-type]
    except UnicodeEncodeError:
        return
    if reference_ok(data):
        assert parse_canonical_json(data) == json.loads(data)
    else:
        with pytest.raises(InvalidInputError, match="not canonical JSON"):
            parse_canonical_json(data)


@pytest.mark.parametrize(
    "text",
    [
        b'{"b":1,"a":2}',  # keys out of order
        b'{"a": 1}',  # a space
        b'{"a":1,"a":1}',  # a duplicate key
        b'{"a":1.0}',  # not the shortest number form
        b'{"a":9007199254740993}',  # beyond 2**53 - 1
        b'{"a":"\\u0041"}',  # a needless escape
        b'{"a":"\\ud800"}',  # a lone surrogate
        b'{"a":NaN}',
        b'{"a":1} ',  # trailing bytes
        b'{"a":1',  # truncated
        b"\xff",
        b'"caf\xc3\xa9"x',
        b"",
    ],
)
def test_rejects_non_canonical(text: bytes) -> None:
    with pytest.raises(InvalidInputError, match="not canonical JSON"):
        parse_canonical_json(text)


@pytest.mark.parametrize(
    "text",
    [b'{"a":1,"b":[true,null,"x"]}', b'{"a":1.5}', '{"é":"ü"}'.encode(), b"-12", b'"\\n"'],
)
def test_accepts_canonical(text: bytes) -> None:
    assert canonical_json(parse_canonical_json(text)) == text
