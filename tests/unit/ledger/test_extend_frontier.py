"""extend_frontier (batched appends) agrees with append_leaf one leaf at a time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pnyx.errors import InvalidInputError
from pnyx.ledger import merkle

HASHES = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(200)]


def one_by_one(start: int, count: int) -> tuple[list[merkle.Node], list[merkle.NodeRow]]:
    frontier: list[merkle.Node] = []
    created: list[merkle.NodeRow] = []
    for size in range(start + count):
        made, frontier = merkle.append_leaf(frontier, size, HASHES[size])
        if size >= start:
            created += [(n.level, n.index, n.hash) for n in made]
    return frontier, created


@given(st.integers(0, 120), st.integers(0, 80))
def test_batch_equals_single_appends(start: int, count: int) -> None:
    before, _ = one_by_one(0, start)
    expected_frontier, expected_created = one_by_one(start, count)
    created: list[merkle.NodeRow] = []
    leaves = HASHES[start : start + count]
    assert merkle.extend_frontier(before, start, leaves, created) == expected_frontier
    assert created == expected_created
    assert merkle.extend_frontier(before, start, leaves) == expected_frontier
    assert merkle.root_from_frontier(expected_frontier) == merkle.root_hash(
        [i.to_bytes(4, "big") for i in range(start + count)]
    )


def test_rejects_a_wrong_frontier_and_a_short_leaf_hash() -> None:
    frontier, _ = one_by_one(0, 5)
    with pytest.raises(InvalidInputError, match="is not the frontier of size 6"):
        merkle.extend_frontier(frontier, 6, [HASHES[6]])
    with pytest.raises(InvalidInputError, match="leaf hash has 31 bytes"):
        merkle.extend_frontier(frontier, 5, [HASHES[5][:31]])
