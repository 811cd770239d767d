"""RFC 9162 Merkle trees: transparency-dev vectors, a real CT log, and an RFC reference model."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from pnyx.errors import InvalidInputError, VerificationError
from pnyx.ledger import merkle

VECTORS = Path(__file__).resolve().parents[2] / "data" / "vectors"
MERKLE = VECTORS / "merkle"
CT = VECTORS / "ct-argon2020"
CT_OLD_SIZE = 3_654_490
CT_OLD_ROOT = base64.b64decode("AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ=")

# RFC 6962 test leaves (as used by transparency-dev/merkle) and their tree hashes by size.
RFC_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
RFC_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


# --- a literal, recursive transcription of RFC 9162 §2.1 used as the reference model ------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def _leaves(n: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(n)]


# --- vectors ------------------------------------------------------------------------------


def _vector_params(kind: str) -> list[Any]:
    files = sorted((MERKLE / kind).rglob("*.json"))
    assert files, f"no {kind} vectors found under {MERKLE}"
    return [pytest.param(f, id=str(f.relative_to(MERKLE / kind))) for f in files]


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize("path", _vector_params("inclusion"))
def test_inclusion_vector(path: Path) -> None:
    v = _load(path)
    args = (
        _b64(v["leafHash"]),
        v["leafIdx"],
        v["treeSize"],
        [_b64(p) for p in v["proof"] or []],
        _b64(v["root"]),
    )
    if v["wantErr"]:
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)  # raises on failure


@pytest.mark.parametrize("path", _vector_params("consistency"))
def test_consistency_vector(path: Path) -> None:
    v = _load(path)
    args = (
        v["size1"],
        v["size2"],
        _b64(v["root1"]),
        _b64(v["root2"]),
        [_b64(p) for p in v["proof"] or []],
    )
    if v["wantErr"]:
        with pytest.raises(VerificationError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)  # raises on failure


def test_vector_sets_hold_both_accepting_and_rejecting_cases() -> None:
    wanted = [_load(f)["wantErr"] for f in MERKLE.rglob("*.json")]
    assert len(wanted) > 150
    assert True in wanted
    assert False in wanted


# --- reference roots ----------------------------------------------------------------------


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert merkle.root_hash([]).hex() == RFC_ROOTS[0]
    assert merkle.root_from_hashes([]) == merkle.EMPTY_ROOT


@pytest.mark.parametrize("size", range(len(RFC_ROOTS)))
def test_rfc6962_reference_roots(size: int) -> None:
    assert merkle.root_hash(RFC_LEAVES[:size]).hex() == RFC_ROOTS[size]


def test_leaf_and_node_hash_use_domain_separation() -> None:
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert merkle.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


# --- against the RFC model ----------------------------------------------------------------


@pytest.mark.parametrize("size", [*range(1, 34), 63, 64, 65, 100])
def test_root_and_proofs_match_rfc_model(size: int) -> None:
    leaves = _leaves(size)
    root = merkle.root_hash(leaves)
    assert root == ref_mth(leaves)
    for index in range(size):
        proof = merkle.inclusion_proof(leaves, index)
        assert proof == ref_path(index, leaves)
        merkle.verify_inclusion(merkle.leaf_hash(leaves[index]), index, size, proof, root)
    for old in range(1, size + 1):
        proof = merkle.consistency_proof(leaves, old)
        assert proof == ref_subproof(old, leaves, True)
        merkle.verify_consistency(old, size, ref_mth(leaves[:old]), root, proof)


def test_proof_arguments_out_of_range_are_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="out of range"):
        merkle.inclusion_proof(_leaves(3), 3)
    with pytest.raises(InvalidInputError, match="0 < old size"):
        merkle.consistency_proof(_leaves(3), 0)
    with pytest.raises(InvalidInputError, match="0 < old size"):
        merkle.consistency_proof(_leaves(3), 4)


def test_root_from_hashes_rejects_wrong_hash_length() -> None:
    with pytest.raises(InvalidInputError, match="leaf hash 1 has 3 bytes"):
        merkle.root_from_hashes([bytes(32), b"abc"])


def test_error_messages_name_the_mismatch() -> None:
    leaves = _leaves(5)
    root = merkle.root_hash(leaves)
    proof = merkle.inclusion_proof(leaves, 2)
    lh = merkle.leaf_hash(leaves[2])
    with pytest.raises(VerificationError, match="index 5 out of range for size 3"):
        merkle.verify_inclusion(lh, 5, 3, proof, root)
    with pytest.raises(VerificationError, match="proof has 2 hashes, expected 3"):
        merkle.verify_inclusion(lh, 2, 5, proof[:2], root)
    with pytest.raises(VerificationError, match=r"computed root [0-9a-f]+\.\. != expected 0000"):
        merkle.verify_inclusion(lh, 2, 5, proof, bytes(32))
    with pytest.raises(VerificationError, match="proof\\[1\\] has 31 bytes"):
        merkle.verify_inclusion(lh, 2, 5, [proof[0], proof[1][:31], proof[2]], root)


def test_consistency_from_empty_tree_is_rejected() -> None:
    root = merkle.root_hash(_leaves(4))
    with pytest.raises(VerificationError, match="from size 0"):
        merkle.verify_consistency(0, 4, merkle.EMPTY_ROOT, root, [])
    merkle.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])


# --- a real Certificate Transparency log (Google Argon 2020) ------------------------------


def _ct() -> dict[str, Any]:
    sth = _load(CT / "sth.json")
    proof = _load(CT / "proof.json")
    entry = _load(CT / "entries.json")["entries"][0]
    return {
        "size": sth["tree_size"],
        "root": _b64(sth["sha256_root_hash"]),
        "index": proof["leaf_index"],
        "path": [_b64(p) for p in proof["audit_path"]],
        "leaf": merkle.leaf_hash(_b64(entry["leaf_input"])),
        "consistency": [_b64(p) for p in _load(CT / "consistency.json")["consistency"]],
    }


def _flip(data: bytes, bit: int = 0) -> bytes:
    return data[: bit // 8] + bytes([data[bit // 8] ^ (1 << bit % 8)]) + data[bit // 8 + 1 :]


def test_ct_inclusion_of_entry_10000() -> None:
    ct = _ct()
    assert ct["index"] == 10000
    merkle.verify_inclusion(ct["leaf"], ct["index"], ct["size"], ct["path"], ct["root"])


def test_ct_consistency_from_old_tree() -> None:
    ct = _ct()
    merkle.verify_consistency(CT_OLD_SIZE, ct["size"], CT_OLD_ROOT, ct["root"], ct["consistency"])


@pytest.mark.parametrize("element", [0, 7, 29])
def test_ct_tampered_inclusion_fails(element: int) -> None:
    ct = _ct()
    path = list(ct["path"])
    path[element] = _flip(path[element], 77)
    with pytest.raises(VerificationError, match="computed root"):
        merkle.verify_inclusion(ct["leaf"], ct["index"], ct["size"], path, ct["root"])
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(ct["leaf"], ct["index"] + 1, ct["size"], ct["path"], ct["root"])
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(_flip(ct["leaf"]), ct["index"], ct["size"], ct["path"], ct["root"])


@pytest.mark.parametrize("element", [0, 15, 29])
def test_ct_tampered_consistency_fails(element: int) -> None:
    ct = _ct()
    proof = list(ct["consistency"])
    proof[element] = _flip(proof[element], 3)
    with pytest.raises(VerificationError, match="computed"):
        merkle.verify_consistency(CT_OLD_SIZE, ct["size"], CT_OLD_ROOT, ct["root"], proof)
    with pytest.raises(VerificationError):
        merkle.verify_consistency(
            CT_OLD_SIZE, ct["size"], _flip(CT_OLD_ROOT), ct["root"], ct["consistency"]
        )
    with pytest.raises(VerificationError):
        merkle.verify_consistency(
            CT_OLD_SIZE + 1, ct["size"], CT_OLD_ROOT, ct["root"], ct["consistency"]
        )
