"""Artifacts in any fsspec filesystem (``s3://bucket/prefix``, ``gs://...``, ``file://...``,
``memory://...``), same layout and same guarantees as :class:`ArtifactStore`.

Reads re-hash the bytes and refuse a mismatch (:class:`ArtifactIntegrityError`). ``path(sha)``
returns a local copy in the cache directory (fetched and checked on first use), so code that
memory-maps artifacts (search indexes) works unchanged. Writes go to the remote store only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pnyx.data.artifacts import ArtifactIntegrityError, ArtifactStore, sha256_file, sha256_hex
from pnyx.errors import InvalidInputError, NotFoundError


class FsspecArtifactStore(ArtifactStore):
    """Content-addressed artifacts at an fsspec URL, with a verified local cache."""

    def __init__(self, url: str, cache: Path) -> None:
        try:
            import fsspec  # type: ignore[import-untyped]
        except ImportError as e:  # pragma: no cover  (a dependency of pnyx)
            raise NotFoundError("artifact URLs need the fsspec package") from e
        super().__init__(cache)
        self.url = url
        try:
            self.fs: Any
            self.fs, base = fsspec.core.url_to_fs(url)
        except (ValueError, ImportError) as e:
            raise InvalidInputError(f"cannot open artifact store {url!r}: {e}") from e
        self.base = str(base).rstrip("/")

    def remote_path(self, sha: str) -> str:
        """The artifact's path inside the remote filesystem."""
        super().path(sha)  # checks the name
        return f"{self.base}/sha256/{sha[:2]}/{sha}"

    def path(self, sha: str) -> Path:
        """A local, checked copy of the artifact (the cache path, absent if not stored)."""
        local = super().path(sha)
        if local.is_file() and sha256_file(local) == sha:
            return local
        if self.fs.exists(self.remote_path(sha)):
            self._write_atomically(local, self.read(sha))
        return local

    def exists(self, sha: str) -> bool:
        """Whether the remote store holds the artifact (its bytes are not checked)."""
        return bool(self.fs.exists(self.remote_path(sha)))

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` remotely (unless an intact copy is there); return its hex SHA-256."""
        sha = sha256_hex(data)
        if self.verify(sha) is not None:
            target = self.remote_path(sha)
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            self.fs.pipe_file(target, data)
        return sha

    def read(self, sha: str) -> bytes:
        """The artifact's bytes from the remote store, after checking they hash to ``sha``."""
        try:
            data = bytes(self.fs.cat_file(self.remote_path(sha)))
        except FileNotFoundError:
            raise NotFoundError(f"artifact {sha} is not in the store at {self.url}") from None
        actual = sha256_hex(data)
        if actual != sha:
            raise ArtifactIntegrityError(sha, actual)
        return data

    def verify(self, sha: str) -> str | None:
        """None when the remote artifact is present and intact, else a one-line reason."""
        try:
            self.read(sha)
        except NotFoundError:
            return "missing"
        except ArtifactIntegrityError as e:
            return f"corrupt: bytes hash to {e.actual}"
        return None


def open_artifact_store(root: Path, url: str | None = None) -> ArtifactStore:
    """The artifact store: files under ``root``, or at fsspec ``url`` cached under ``root``."""
    return ArtifactStore(root) if not url else FsspecArtifactStore(url, root / "cache")
