"""Which shards of a version still need an index, and when a version's index is complete."""

from __future__ import annotations

import pytest

from pnyx.domain.search import ShardIndexRef, check_complete, shards_to_build
from pnyx.errors import NotFoundError

M = "m" * 64


def ref(shard: int, sha: str, manifest: str = M) -> ShardIndexRef:
    return ShardIndexRef(shard, sha, "i" * 64, manifest, seq=shard)


def test_shards_to_build_resumes_and_detects_changed_shards() -> None:
    hashes = ["a" * 64, "b" * 64, "c" * 64]
    assert shards_to_build(hashes, {}, M) == [0, 1, 2]
    done = {0: ref(0, "a" * 64), 1: ref(1, "x" * 64)}  # shard 1 was indexed from other bytes
    assert shards_to_build(hashes, done, M) == [1, 2]
    assert shards_to_build(hashes, {0: ref(0, "a" * 64, "n" * 64)}, M) == [0, 1, 2]


def test_check_complete_names_missing_shards() -> None:
    hashes = ["a" * 64, "b" * 64]
    with pytest.raises(NotFoundError, match="no search index"):
        check_complete("d", 1, hashes, {}, M)
    with pytest.raises(NotFoundError, match=r"shard\(s\) 1 "):
        check_complete("d", 1, hashes, {0: ref(0, "a" * 64)}, M)
    full = {0: ref(0, "a" * 64), 1: ref(1, "b" * 64)}
    assert [r.shard for r in check_complete("d", 1, hashes, full, M)] == [0, 1]
