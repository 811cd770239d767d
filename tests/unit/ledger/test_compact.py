"""Stored complete subtrees, frontiers and proof ranges agree with direct computation."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pnyx.errors import InvalidInputError, VerificationError
from pnyx.ledger import merkle
from pnyx.ledger.merkle import Node, NodeRef

MAX_SIZE = 300
HASHES = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(MAX_SIZE)]


def _grow(hashes: list[bytes]) -> tuple[list[Node], dict[NodeRef, bytes]]:
    """Append every hash; return the final frontier and every complete subtree created."""
    frontier: list[Node] = []
    stored: dict[NodeRef, bytes] = {}
    for size, leaf in enumerate(hashes):
        created, frontier = merkle.append_leaf(frontier, size, leaf)
        for node in created:
            assert node.ref not in stored, f"subtree {node.ref} created twice"
            stored[node.ref] = node.hash
    return frontier, stored


FRONTIER, STORED = _grow(HASHES)


def _fetch(ranges: list[tuple[int, int]]) -> dict[NodeRef, bytes]:
    """What one database query would return: only the subtrees the ranges need."""
    refs = {ref for start, end in ranges for ref in merkle.range_nodes(start, end)}
    return {ref: STORED[ref] for ref in refs}


sizes = st.integers(min_value=1, max_value=MAX_SIZE)


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(sizes)
    return size, draw(st.integers(min_value=0, max_value=size - 1))


@st.composite
def old_and_new(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(sizes)
    return draw(st.integers(min_value=1, max_value=new)), new


def test_every_stored_subtree_hash_is_the_hash_of_its_leaves() -> None:
    assert len(STORED) == 2 * MAX_SIZE - bin(MAX_SIZE).count("1")
    for (level, index), value in STORED.items():
        start = index << level
        assert start + (1 << level) <= MAX_SIZE
        assert value == merkle.root_from_hashes(HASHES[start : start + (1 << level)])


@given(st.integers(min_value=0, max_value=MAX_SIZE))
def test_frontier_after_n_appends_gives_the_root(n: int) -> None:
    frontier, _ = _grow(HASHES[:n])
    assert [node.ref for node in frontier] == merkle.frontier_nodes(n)
    assert merkle.root_from_frontier(frontier) == merkle.root_from_hashes(HASHES[:n])
    assert len(frontier) == bin(n).count("1")


@given(size_and_index())
def test_inclusion_proof_from_stored_subtrees(case: tuple[int, int]) -> None:
    size, index = case
    ranges = merkle.inclusion_proof_ranges(index, size)
    stored = _fetch(ranges)
    proof = [merkle.range_hash(start, end, stored) for start, end in ranges]
    assert proof == merkle.inclusion_proof_from_hashes(HASHES[:size], index)
    root = merkle.range_hash(0, size, _fetch([(0, size)]))
    assert root == merkle.root_from_hashes(HASHES[:size])
    merkle.verify_inclusion(HASHES[index], index, size, proof, root)


@given(old_and_new())
def test_consistency_proof_from_stored_subtrees(case: tuple[int, int]) -> None:
    old, new = case
    ranges = merkle.consistency_proof_ranges(old, new)
    stored = _fetch(ranges)
    proof = [merkle.range_hash(start, end, stored) for start, end in ranges]
    assert proof == merkle.consistency_proof_from_hashes(HASHES[:new], old)
    old_root = merkle.root_from_hashes(HASHES[:old])
    new_root = merkle.root_from_hashes(HASHES[:new])
    merkle.verify_consistency(old, new, old_root, new_root, proof)


@given(size_and_index(), st.data())
def test_verify_inclusion_rejects_any_flipped_bit(
    case: tuple[int, int], data: st.DataObject
) -> None:
    size, index = case
    proof = merkle.inclusion_proof_from_hashes(HASHES[:size], index)
    root = merkle.root_from_hashes(HASHES[:size])
    bit = data.draw(st.integers(min_value=0, max_value=255))
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(HASHES[index], index, size, proof, _flip(root, bit))
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(_flip(HASHES[index], bit), index, size, proof, root)
    if proof:
        element = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        tampered = [*proof[:element], _flip(proof[element], bit), *proof[element + 1 :]]
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(HASHES[index], index, size, tampered, root)
    other = data.draw(st.integers(min_value=0, max_value=size))
    if other != index:
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(HASHES[index], other, size, proof, root)


@given(old_and_new(), st.data())
def test_verify_consistency_rejects_any_flipped_bit(
    case: tuple[int, int], data: st.DataObject
) -> None:
    old, new = case
    proof = merkle.consistency_proof_from_hashes(HASHES[:new], old)
    old_root = merkle.root_from_hashes(HASHES[:old])
    new_root = merkle.root_from_hashes(HASHES[:new])
    bit = data.draw(st.integers(min_value=0, max_value=255))
    with pytest.raises(VerificationError):
        merkle.verify_consistency(old, new, old_root, _flip(new_root, bit), proof)
    with pytest.raises(VerificationError):
        merkle.verify_consistency(old, new, _flip(old_root, bit), new_root, proof)
    if proof:
        element = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        tampered = [*proof[:element], _flip(proof[element], bit), *proof[element + 1 :]]
        with pytest.raises(VerificationError):
            merkle.verify_consistency(old, new, old_root, new_root, tampered)


def _flip(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def test_range_nodes_split_by_binary_representation() -> None:
    assert merkle.range_nodes(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert merkle.range_nodes(8, 16) == [(3, 1)]
    assert merkle.range_nodes(4, 7) == [(1, 2), (0, 6)]
    assert merkle.frontier_nodes(0) == []
    assert merkle.frontier_nodes(13) == [(3, 0), (2, 2), (0, 12)]


def test_range_nodes_rejects_unaligned_or_empty_ranges() -> None:
    with pytest.raises(InvalidInputError, match="cannot start at leaf 1"):
        merkle.range_nodes(1, 3)
    with pytest.raises(InvalidInputError, match="empty"):
        merkle.range_nodes(4, 4)


def test_range_hash_names_a_missing_subtree() -> None:
    with pytest.raises(InvalidInputError, match=r"\(1, 2\)"):
        merkle.range_hash(4, 7, {(0, 6): HASHES[6]})


def test_append_leaf_rejects_a_frontier_of_another_size() -> None:
    frontier, _ = _grow(HASHES[:5])
    with pytest.raises(InvalidInputError, match="not the frontier of size 6"):
        merkle.append_leaf(frontier, 6, HASHES[6])
    with pytest.raises(InvalidInputError, match="31 bytes"):
        merkle.append_leaf(frontier, 5, HASHES[5][:31])


def test_append_leaf_reports_the_subtrees_it_completes() -> None:
    frontier, _ = _grow(HASHES[:7])
    created, new_frontier = merkle.append_leaf(frontier, 7, HASHES[7])
    assert [node.ref for node in created] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert [node.ref for node in new_frontier] == [(3, 0)]
    assert created[-1].hash == merkle.root_from_hashes(HASHES[:8])


def test_empty_frontier_root_is_the_empty_tree() -> None:
    assert merkle.root_from_frontier([]) == hashlib.sha256(b"").digest()
