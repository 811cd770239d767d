"""Artifact store: content addressing, idempotent puts, tamper detection on read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pnyx.data.artifacts import ArtifactIntegrityError, ArtifactStore
from pnyx.errors import InvalidInputError, NotFoundError


def test_put_read_roundtrip_and_layout(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "a")
    sha = store.put_bytes(b"hello shard")
    assert sha == hashlib.sha256(b"hello shard").hexdigest()
    assert store.path(sha) == tmp_path / "a" / "sha256" / sha[:2] / sha
    assert store.exists(sha)
    assert store.read(sha) == b"hello shard"
    assert store.put_bytes(b"hello shard") == sha  # idempotent
    assert store.verify(sha) is None


def test_put_file(tmp_path: Path) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(b"\x00\x01\x02")
    store = ArtifactStore(tmp_path / "a")
    sha = store.put_file(src)
    assert store.read(sha) == b"\x00\x01\x02"


def test_tampered_artifact_is_refused(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "a")
    sha = store.put_bytes(b"original bytes")
    store.path(sha).write_bytes(b"originaL bytes")
    with pytest.raises(ArtifactIntegrityError, match=sha):
        store.read(sha)
    assert store.verify(sha) is not None and store.verify(sha).startswith("corrupt")  # type: ignore[union-attr]
    store.put_bytes(b"original bytes")  # a damaged copy is repaired by storing the bytes again
    assert store.read(sha) == b"original bytes"


def test_missing_and_malformed_names(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "a")
    missing = "0" * 64
    assert not store.exists(missing)
    assert store.verify(missing) == "missing"
    with pytest.raises(NotFoundError, match=missing):
        store.read(missing)
    for bad in ["../etc/passwd", "A" * 64, "0" * 63]:
        with pytest.raises(InvalidInputError):
            store.path(bad)
