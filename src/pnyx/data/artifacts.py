"""Content-addressed artifact store: files named by the SHA-256 of their bytes.

Layout: ``root/sha256/<first 2 hex>/<64 hex>``. Reads re-hash the bytes and raise
:class:`ArtifactIntegrityError` when they no longer match their name, so a tampered or
truncated artifact (a dataset shard, a manifest, an index) is reported and never served.

Standard library only: the training recipe imports this on machines that have only torch.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from pnyx.errors import InvalidInputError, NotFoundError, VerificationError

_HEX = frozenset("0123456789abcdef")
_CHUNK = 1 << 20


class ArtifactIntegrityError(VerificationError):
    """An artifact's bytes no longer hash to its name: it is refused, never served."""

    def __init__(self, sha256: str, actual: str) -> None:
        super().__init__(
            f"artifact {sha256} is corrupt: its bytes hash to {actual}; refusing to serve it"
        )
        self.sha256 = sha256
        self.actual = actual


def sha256_hex(data: bytes) -> str:
    """The lowercase hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """The lowercase hex SHA-256 of the file at ``path``, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def check_sha256(sha: str) -> str:
    """``sha`` if it is 64 lowercase hex digits, else InvalidInputError."""
    if len(sha) != 64 or not set(sha) <= _HEX:
        raise InvalidInputError(f"not a SHA-256 hex digest (64 lowercase hex digits): {sha!r}")
    return sha


class ArtifactStore:
    """Immutable, content-addressed files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha: str) -> Path:
        """Where the artifact named ``sha`` lives (whether or not it exists)."""
        check_sha256(sha)
        return self.root / "sha256" / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        """Whether an artifact named ``sha`` is stored (its bytes are not checked)."""
        return self.path(sha).is_file()

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; return its hex SHA-256. Idempotent; written atomically."""
        sha = sha256_hex(data)
        target = self.path(sha)
        if target.is_file() and sha256_file(target) == sha:
            return sha  # already stored and intact (a damaged copy is rewritten)
        self._write_atomically(target, data)
        return sha

    def put_file(self, path: Path) -> str:
        """Store a copy of the file at ``path``; return its hex SHA-256."""
        return self.put_bytes(Path(path).read_bytes())

    def read(self, sha: str) -> bytes:
        """The artifact's bytes, after checking they still hash to ``sha``."""
        target = self.path(sha)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"artifact {sha} is not in the store at {self.root}") from None
        actual = sha256_hex(data)
        if actual != sha:
            raise ArtifactIntegrityError(sha, actual)
        return data

    def verify(self, sha: str) -> str | None:
        """None when the artifact is present and intact, else a one-line reason."""
        target = self.path(sha)
        if not target.is_file():
            return "missing"
        actual = sha256_file(target)
        return None if actual == sha else f"corrupt: bytes hash to {actual}"

    def _write_atomically(self, target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
