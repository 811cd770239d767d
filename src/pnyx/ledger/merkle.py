"""RFC 9162 (RFC 6962) Merkle trees over SHA-256: hashes, proofs, verification.

Everything here is pure. Leaves are identified by their leaf hash internally, so callers that
already hold leaf hashes (a database) use the `*_from_hashes` functions and never rehash data.

A *complete subtree* is addressed as `(level, index)`: it covers the leaves
`[index * 2**level, (index + 1) * 2**level)`. A database-backed log stores the hash of every
complete subtree once; `inclusion_proof_ranges` / `consistency_proof_ranges` say which leaf
ranges a proof needs, `range_nodes` which stored subtrees compose each range, and `range_hash`
folds them. `append_leaf` grows the right-edge *frontier* of a log in O(log n).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pnyx.errors import InvalidInputError, VerificationError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

NodeRef = tuple[int, int]
"""A complete subtree as (level, index)."""

LeafRange = tuple[int, int]
"""A half-open range of leaf indexes [start, end)."""

NodeRow = tuple[int, int, bytes]
"""A complete subtree as (level, index, hash), e.g. a row to store."""


@dataclass(frozen=True)
class Node:
    """The hash of the complete subtree (level, index)."""

    level: int
    index: int
    hash: bytes

    @property
    def ref(self) -> NodeRef:
        """The (level, index) address of this subtree."""
        return (self.level, self.index)


# --- hashes -------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """Return the leaf hash SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the interior node hash SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """Return MTH of the raw leaf data `leaves`; the empty tree hashes to SHA-256("")."""
    return root_from_hashes([leaf_hash(data) for data in leaves])


def root_from_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return the tree hash over already computed leaf hashes (iterative, O(n))."""
    _check_hashes(hashes)
    if not hashes:
        return EMPTY_ROOT
    sha256 = hashlib.sha256
    level = list(hashes)
    while len(level) > 1:
        parents = [
            sha256(_NODE_PREFIX + left + right).digest()
            for left, right in zip(level[0::2], level[1::2], strict=False)
        ]
        if len(level) % 2:
            parents.append(level[-1])  # an odd node is promoted unchanged (RFC 9162 shape)
        level = parents
    return level[0]


# --- proof shapes -------------------------------------------------------------------------


def _split(n: int) -> int:
    """Return the largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof_ranges(index: int, size: int) -> list[LeafRange]:
    """Return the leaf range of each inclusion proof element for `index` in a tree of `size`.

    The order is the RFC 9162 §2.1.3.1 order: from the leaf's sibling up to the root's child.
    """
    if not 0 <= index < size:
        raise InvalidInputError(f"index {index} out of range for size {size}")
    ranges: list[LeafRange] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def consistency_proof_ranges(old_size: int, new_size: int) -> list[LeafRange]:
    """Return the leaf range of each consistency proof element, in RFC 9162 §2.1.4.1 order."""
    if not 0 < old_size <= new_size:
        raise InvalidInputError(
            f"consistency proof needs 0 < old size <= new size, got {old_size} and {new_size}"
        )
    ranges: list[LeafRange] = []
    lo, hi, old = 0, new_size, old_size
    old_is_complete_subtree = True
    while hi - lo != old:
        k = _split(hi - lo)
        if old <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            old -= k
            old_is_complete_subtree = False
    if not old_is_complete_subtree:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def range_nodes(start: int, end: int) -> list[NodeRef]:
    """Return the complete subtrees, left to right, whose hashes compose MTH(D[start:end]).

    The range is split by the binary representation of `end - start`, largest part first; each
    part must be an aligned complete subtree (true for every range that occurs in a proof).
    """
    if not 0 <= start < end:
        raise InvalidInputError(f"leaf range [{start}, {end}) is empty or negative")
    position, count = start, end - start
    if not count & (count - 1) and not start & (count - 1):  # one aligned complete subtree
        return [(count.bit_length() - 1, start // count)]
    refs: list[NodeRef] = []
    for level in range(count.bit_length() - 1, -1, -1):
        if not count >> level & 1:
            continue
        if position % (1 << level):
            raise InvalidInputError(
                f"leaf range [{start}, {end}) does not split into complete subtrees: "
                f"a subtree of {1 << level} leaves cannot start at leaf {position}"
            )
        refs.append((level, position >> level))
        position += 1 << level
    return refs


def range_hash(start: int, end: int, hashes: Mapping[NodeRef, bytes]) -> bytes:
    """Return MTH(D[start:end]) from stored complete-subtree hashes keyed by (level, index)."""
    parts: list[bytes] = []
    for ref in range_nodes(start, end):
        if ref not in hashes:
            raise InvalidInputError(f"missing hash of complete subtree (level, index) {ref}")
        parts.append(hashes[ref])
    result = parts[-1]
    for part in reversed(parts[:-1]):
        result = node_hash(part, result)
    return result


# --- proofs -------------------------------------------------------------------------------


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Return the RFC 9162 inclusion proof for leaf `index` of the raw leaf data `leaves`."""
    return inclusion_proof_from_hashes([leaf_hash(data) for data in leaves], index)


def inclusion_proof_from_hashes(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return the inclusion proof for leaf `index` over already computed leaf hashes."""
    ranges = inclusion_proof_ranges(index, len(hashes))
    return [root_from_hashes(hashes[start:end]) for start, end in ranges]


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """Return the RFC 9162 consistency proof from the first `old_size` leaves to all of them."""
    return consistency_proof_from_hashes([leaf_hash(data) for data in leaves], old_size)


def consistency_proof_from_hashes(hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """Return the consistency proof from `old_size` to `len(hashes)` over leaf hashes."""
    ranges = consistency_proof_ranges(old_size, len(hashes))
    return [root_from_hashes(hashes[start:end]) for start, end in ranges]


# --- verification -------------------------------------------------------------------------


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf_hash` is leaf `index` of the tree of `size` leaves with hash `root`.

    Raises VerificationError naming what did not match.
    """
    if not 0 <= index < size:
        raise VerificationError(f"index {index} out of range for size {size}")
    _require_hash("leaf hash", leaf_hash)
    # Below level `inner` the leaf's ancestors have a sibling at every level; above it they lie
    # on the right edge and only have a (left) sibling where `index` has a set bit.
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    _require_proof_length(proof, inner + border, f"index {index} in size {size}")
    computed = leaf_hash
    for level, sibling in enumerate(proof[:inner]):
        if index >> level & 1:
            computed = node_hash(sibling, computed)
        else:
            computed = node_hash(computed, sibling)
    for sibling in proof[inner:]:
        computed = node_hash(sibling, computed)
    _require_equal("root", computed, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (`new_size`, `new_root`) extends (`old_size`, `old_root`).

    Follows RFC 9162 §2.1.4.2. Equal sizes need an empty proof and equal roots; a proof from
    the empty tree to a larger one is rejected (it proves nothing). Raises VerificationError.
    """
    if not 0 <= old_size <= new_size:
        raise VerificationError(f"sizes must satisfy 0 <= old <= new, got {old_size} > {new_size}")
    if old_size == new_size:
        _verify_same_tree(old_size, old_root, new_root, proof)
        return
    if old_size == 0:
        raise VerificationError(f"a consistency proof from size 0 to {new_size} is not accepted")
    expected = len(consistency_proof_ranges(old_size, new_size))
    _require_proof_length(proof, expected, f"sizes {old_size} -> {new_size}")
    _require_hash("old root", old_root)
    _require_hash("new root", new_root)
    old_computed, new_computed = _consistency_roots(old_size, new_size, old_root, proof)
    _require_equal("old root", old_computed, old_root)
    _require_equal("new root", new_computed, new_root)


def _verify_same_tree(size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    if proof:
        raise VerificationError(f"proof has {len(proof)} hashes, expected 0 for equal sizes")
    if size == 0:
        _require_equal("old root of the empty tree", EMPTY_ROOT, old_root)
        _require_equal("new root of the empty tree", EMPTY_ROOT, new_root)
    _require_equal("new root (sizes are equal)", old_root, new_root)


def _consistency_roots(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """Recompute (old root, new root) from a consistency proof, RFC 9162 §2.1.4.2 steps 2-9."""
    nodes = list(proof)
    if old_size & (old_size - 1) == 0:  # the old tree is a complete subtree of the new one
        nodes.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old_computed = new_computed = nodes[0]
    for sibling in nodes[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            old_computed = node_hash(sibling, old_computed)
            new_computed = node_hash(sibling, new_computed)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            new_computed = node_hash(new_computed, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError("consistency proof is shorter than the tree is deep")
    return old_computed, new_computed


def _require_proof_length(proof: Sequence[bytes], expected: int, context: str) -> None:
    if len(proof) != expected:
        raise VerificationError(f"proof has {len(proof)} hashes, expected {expected} for {context}")
    for position, element in enumerate(proof):
        _require_hash(f"proof[{position}]", element)


def _require_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise VerificationError(f"{what} has {len(value)} bytes, expected {HASH_SIZE}")


def _require_equal(what: str, computed: bytes, expected: bytes) -> None:
    if computed != expected:
        raise VerificationError(
            f"computed {what} {computed.hex()[:16]}.. != expected {expected.hex()[:16]}.."
        )


def _check_hashes(hashes: Sequence[bytes]) -> None:
    if any(len(h) != HASH_SIZE for h in hashes):
        bad = next(i for i, h in enumerate(hashes) if len(h) != HASH_SIZE)
        raise InvalidInputError(
            f"leaf hash {bad} has {len(hashes[bad])} bytes, expected {HASH_SIZE}"
        )


# --- frontier (incremental append) --------------------------------------------------------


def frontier_nodes(size: int) -> list[NodeRef]:
    """Return the complete subtrees on the right edge of a tree of `size`, largest first."""
    if size < 0:
        raise InvalidInputError(f"tree size must be >= 0, got {size}")
    return range_nodes(0, size) if size else []


def root_from_frontier(frontier: Sequence[Node]) -> bytes:
    """Return the tree hash from its frontier (the empty frontier gives SHA-256(""))."""
    if not frontier:
        return EMPTY_ROOT
    result = frontier[-1].hash
    for node in reversed(frontier[:-1]):
        result = node_hash(node.hash, result)
    return result


def append_leaf(
    frontier: Sequence[Node], size: int, leaf_hash: bytes
) -> tuple[list[Node], list[Node]]:
    """Append one leaf hash to a tree of `size` leaves given by its frontier.

    Returns (the complete subtrees this append creates, leaf first then each new parent;
    the new frontier). Raises InvalidInputError if `frontier` is not the frontier of `size`.
    """
    created: list[NodeRow] = []
    new_frontier = extend_frontier(frontier, size, (leaf_hash,), created)
    return [Node(*row) for row in created], new_frontier


def extend_frontier(
    frontier: Sequence[Node],
    size: int,
    leaf_hashes: Iterable[bytes],
    created: list[NodeRow] | None = None,
) -> list[Node]:
    """Append leaf hashes, in order, to the tree of `size` leaves given by its frontier.

    Returns the new frontier. When `created` is a list, each complete subtree the appends create
    is added to it as a (level, index, hash) row (per leaf: the leaf, then each new parent).
    The frontier is checked once (InvalidInputError if it is not the frontier of `size`), so a
    batch costs one hash per leaf, amortised.
    """
    expected = frontier_nodes(size)
    actual = [node.ref for node in frontier]
    if actual != expected:
        raise InvalidInputError(f"frontier {actual} is not the frontier of size {size}: {expected}")
    stack = [node.hash for node in frontier]
    if created is None:
        size = _push_leaves(stack, size, leaf_hashes)
    else:
        size = _push_leaves_recording(stack, size, leaf_hashes, created)
    return [Node(lv, ix, h) for (lv, ix), h in zip(frontier_nodes(size), stack, strict=True)]


def _push_leaves(stack: list[bytes], size: int, leaf_hashes: Iterable[bytes]) -> int:
    """Grow the right-edge hashes `stack` of a tree of `size` leaves; return the new size."""
    sha256 = hashlib.sha256
    for leaf in leaf_hashes:
        if len(leaf) != HASH_SIZE:
            raise InvalidInputError(f"leaf hash has {len(leaf)} bytes, expected {HASH_SIZE}")
        carry, index = leaf, size
        while index & 1:  # the right edge merges once per trailing one bit of the index
            carry = sha256(_NODE_PREFIX + stack.pop() + carry).digest()
            index >>= 1
        stack.append(carry)
        size += 1
    return size


def _push_leaves_recording(
    stack: list[bytes], size: int, leaf_hashes: Iterable[bytes], created: list[NodeRow]
) -> int:
    """Like _push_leaves, adding each complete subtree created to `created`."""
    sha256 = hashlib.sha256
    for leaf in leaf_hashes:
        if len(leaf) != HASH_SIZE:
            raise InvalidInputError(f"leaf hash has {len(leaf)} bytes, expected {HASH_SIZE}")
        carry, index, level = leaf, size, 0
        created.append((0, index, carry))
        while index & 1:
            carry = sha256(_NODE_PREFIX + stack.pop() + carry).digest()
            index, level = index >> 1, level + 1
            created.append((level, index, carry))
        stack.append(carry)
        size += 1
    return size
