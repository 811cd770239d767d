"""Artifacts at an fsspec URL: same layout, same refusal of tampered bytes, a checked cache."""

from __future__ import annotations

import secrets
from pathlib import Path

import fsspec
import pytest

from pnyx.data.artifacts import ArtifactIntegrityError, ArtifactStore
from pnyx.data.remote_store import FsspecArtifactStore, open_artifact_store
from pnyx.errors import NotFoundError


@pytest.fixture
def store(tmp_path: Path) -> FsspecArtifactStore:
    url = f"memory://pnyx-test-{secrets.token_hex(4)}/artifacts"
    made = open_artifact_store(tmp_path / "local", url)
    assert isinstance(made, FsspecArtifactStore)
    return made


def test_roundtrip_layout_and_cache(store: FsspecArtifactStore, tmp_path: Path) -> None:
    sha = store.put_bytes(b"shard bytes")
    fs = fsspec.filesystem("memory")
    assert fs.cat_file(store.remote_path(sha)) == b"shard bytes"
    assert store.remote_path(sha).endswith(f"/artifacts/sha256/{sha[:2]}/{sha}")
    assert store.exists(sha) and store.read(sha) == b"shard bytes"
    local = store.path(sha)
    assert local.read_bytes() == b"shard bytes" and local.is_relative_to(tmp_path / "local")
    assert store.verify(sha) is None
    assert type(open_artifact_store(tmp_path / "x")) is ArtifactStore


def test_tampered_remote_bytes_are_refused(store: FsspecArtifactStore) -> None:
    sha = store.put_bytes(b"original")
    fsspec.filesystem("memory").pipe_file(store.remote_path(sha), b"tampered")
    with pytest.raises(ArtifactIntegrityError, match=sha):
        store.read(sha)
    assert (store.verify(sha) or "").startswith("corrupt")
    with pytest.raises(ArtifactIntegrityError):
        store.path(sha)  # never cached
    store.put_bytes(b"original")  # storing the bytes again repairs it
    assert store.read(sha) == b"original"
    missing = "0" * 64
    assert store.verify(missing) == "missing" and not store.exists(missing)
    with pytest.raises(NotFoundError):
        store.read(missing)
