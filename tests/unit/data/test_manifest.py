"""Manifests: validation, JCS hashing, global sample numbering."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
import rfc8785
from tests.unit.data.manifests import make_manifest

from pnyx.data.manifest import (
    global_index,
    locate,
    manifest_bytes,
    manifest_hash,
    parse_manifest,
    shard_offsets,
    validate_manifest,
)
from pnyx.errors import InvalidInputError


def test_hash_is_sha256_of_rfc8785_bytes() -> None:
    m = make_manifest()
    assert manifest_bytes(m) == rfc8785.dumps(m)
    assert manifest_hash(m) == hashlib.sha256(rfc8785.dumps(m)).hexdigest()
    shuffled = dict(reversed(list(m.items())))
    assert manifest_hash(shuffled) == manifest_hash(m)
    other = copy.deepcopy(m)
    other["shards"][0]["bytes"] = 101
    other["bytes"] = 151
    assert manifest_hash(other) != manifest_hash(m)


def test_parse_roundtrip() -> None:
    m = make_manifest()
    assert parse_manifest(manifest_bytes(m)) == m
    with pytest.raises(InvalidInputError, match="not UTF-8 JSON"):
        parse_manifest(b"{")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"modality": "smell"}, "modality must be one of"),
        ({"records": 6}, "records != sum of shards"),
        ({"bytes": 1}, "bytes != sum of shards"),
        ({"parent": 2}, "parent must be null or an earlier version"),
        ({"dataset": "Bad Name"}, "bad dataset name"),
        ({"metadata": {"duration_s": 1.5}}, "float values are not allowed"),
        ({"tokens": {"gpt2": -1}}, "bad tokens"),
        ({"removed": [{"sha256": "zz", "reason": "x"}]}, "removed 0"),
    ],
)
def test_invalid_manifests_are_refused(change: dict[str, Any], message: str) -> None:
    m = make_manifest() | change
    with pytest.raises(InvalidInputError, match=message):
        validate_manifest(m)
    with pytest.raises(InvalidInputError):
        manifest_hash(m)


def test_missing_key_refused() -> None:
    m = make_manifest()
    del m["removed"]
    with pytest.raises(InvalidInputError, match="expected exactly the keys"):
        parse_manifest(json.dumps(m).encode())


def test_global_numbering() -> None:
    m = make_manifest()
    assert shard_offsets(m) == [0, 3]
    pairs = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    for g, pair in enumerate(pairs):
        assert locate(m, g) == pair
        assert global_index(m, *pair) == g
    with pytest.raises(InvalidInputError):
        locate(m, 5)
    with pytest.raises(InvalidInputError):
        global_index(m, 1, 2)
