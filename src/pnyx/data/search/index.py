"""Open an index memory-mapped and answer count and locate over its shard.

A query is two binary searches over the suffix array for the first and the last suffix whose
first ``len(pattern)`` bytes equal the pattern; each probe slices the memory-mapped text at one
suffix-array entry. The searches run in C (:func:`bisect.bisect_left` / ``bisect_right``) over a
sequence view whose items are those slices, so a count costs about 2·log2(n) slices.

Integrity: an index is opened only after every file hashes to what its manifest names (and the
manifest to the index hash). Opened indexes are cached per process; each use re-stats the files
and re-hashes them when size, mtime or inode changed, so a rewritten index file is refused.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import mmap
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pnyx.data.artifacts import ArtifactStore, sha256_file
from pnyx.data.search.corpus import SEPARATOR_BYTE
from pnyx.data.search.layout import FILES, IndexManifest, parse_index_manifest
from pnyx.errors import NotFoundError, VerificationError

SNIPPET_CONTEXT_BYTES = 48


class StaleIndexError(VerificationError):
    """An index no longer matches what was recorded: nothing is served from it."""


@dataclass(frozen=True)
class Occurrence:
    """One occurrence: document number (line) and byte offset within the document's text."""

    doc: int
    offset: int


@dataclass(frozen=True)
class Snippet:
    """Text around an occurrence, cut at the document's edges and at whole characters."""

    before: str
    match: str
    after: str


class _Prefixes:
    """The sorted sequence ``text[sa[k] : sa[k] + width]`` for bisect (computed on access)."""

    __slots__ = ("sa", "text", "width")

    def __init__(self, text: mmap.mmap | bytes, sa: memoryview, width: int) -> None:
        self.text, self.sa, self.width = text, sa, width

    def __len__(self) -> int:
        return len(self.sa)

    def __getitem__(self, k: int) -> bytes:
        start: int = self.sa[k]
        return self.text[start : start + self.width]


def _map(path: Path) -> mmap.mmap | bytes:
    if path.stat().st_size == 0:
        return b""  # mmap refuses empty files
    with path.open("rb") as f:
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


class ShardIndex:
    """One shard's index, memory-mapped. Build with :func:`open_index`."""

    def __init__(self, index_sha256: str, manifest: IndexManifest, paths: dict[str, Path]) -> None:
        if sys.byteorder != "little":  # pragma: no cover
            raise RuntimeError("the index files are little-endian; this host is not")
        self.index_sha256 = index_sha256
        self.manifest = manifest
        self.paths = paths
        self._text = _map(paths["text"])
        self._sa_map = _map(paths["sa"])
        whole = memoryview(self._sa_map)
        self._sa = whole.cast("i") if manifest.sa_dtype == "<i4" else whole.cast("q")
        self.sa: npt.NDArray[np.int64] = np.frombuffer(self._sa_map, dtype=manifest.sa_dtype)
        self.starts: npt.NDArray[np.int64] = np.fromfile(paths["docs"], dtype="<i8")
        self._docs: list[list[str]] | None = None

    @property
    def shard_sha256(self) -> str:
        """The hash of the shard this index was built from."""
        return self.manifest.shard_sha256

    @property
    def ids(self) -> list[str]:
        """Document ids in line order."""
        return [d[0] for d in self._documents()]

    def doc_id(self, doc: int) -> str:
        """The id of document ``doc``."""
        return self._documents()[doc][0]

    def record_sha256(self, doc: int) -> str:
        """The record hash of document ``doc`` (the SHA-256 of its text, what opt-outs name)."""
        return self._documents()[doc][1]

    def _documents(self) -> list[list[str]]:
        if self._docs is None:  # read on first use
            self._docs = json.loads(self.paths["ids"].read_bytes())
        return self._docs

    def find(self, pattern: bytes) -> tuple[int, int]:
        """The suffix-array range ``[lo, hi)`` of suffixes that start with ``pattern``.

        A pattern holding the separator byte (never valid UTF-8) matches nothing.
        """
        if SEPARATOR_BYTE in pattern:
            return 0, 0
        prefixes = _Prefixes(self._text, self._sa, len(pattern))
        lo = bisect.bisect_left(prefixes, pattern)
        hi = bisect.bisect_right(prefixes, pattern, lo)
        return lo, hi

    def count(self, pattern: bytes) -> int:
        """Number of (overlapping) occurrences of ``pattern`` inside documents."""
        lo, hi = self.find(pattern)
        return hi - lo

    def locate(self, pattern: bytes, limit: int) -> list[Occurrence]:
        """Up to ``limit`` occurrences, in document and offset order (all when fewer)."""
        lo, hi = self.find(pattern)
        positions = np.sort(self.sa[lo : min(hi, lo + limit)].astype(np.int64))
        docs = np.searchsorted(self.starts, positions, side="right") - 1
        offsets = positions - self.starts[docs]
        return [Occurrence(int(d), int(o)) for d, o in zip(docs, offsets, strict=True)]

    def document_bytes(self, doc: int) -> bytes:
        """The UTF-8 text of document ``doc``."""
        start, end = int(self.starts[doc]), int(self.starts[doc + 1]) - 1
        return bytes(self._text[start:end])

    def snippet(
        self, hit: Occurrence, length: int, context: int = SNIPPET_CONTEXT_BYTES
    ) -> Snippet:
        """About ``context`` bytes either side of an occurrence of ``length`` bytes."""
        doc_start = int(self.starts[hit.doc])
        doc_end = int(self.starts[hit.doc + 1]) - 1
        start = doc_start + hit.offset
        before = self._text[max(doc_start, start - context) : start]
        after = self._text[start + length : min(doc_end, start + length + context)]
        return Snippet(
            before=before.decode("utf-8", errors="ignore"),
            match=self._text[start : start + length].decode("utf-8", errors="replace"),
            after=after.decode("utf-8", errors="ignore"),
        )

    def close(self) -> None:
        """Release the memory maps (those still viewed by numpy arrays close when collected)."""
        self._sa.release()
        self.sa = np.empty(0, dtype=np.int64)
        for m in (self._text, self._sa_map):
            if isinstance(m, mmap.mmap):
                with contextlib.suppress(BufferError):
                    m.close()


# --- opening, checking, caching ------------------------------------------------------------------

_Stamp = tuple[tuple[int, int, int], ...]
_CACHE: dict[tuple[str, str], tuple[_Stamp, ShardIndex]] = {}
_LOCK = threading.Lock()


def _stamp(paths: dict[str, Path]) -> _Stamp:
    out = []
    for name in FILES:
        st = os.stat(str(paths[name]))  # noqa: PTH116  (per query and shard: no Path objects)
        out.append((st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


def read_index_manifest(store: ArtifactStore, index_sha256: str) -> IndexManifest:
    """The manifest of index ``index_sha256`` (hash-checked); NotFoundError when absent."""
    return parse_index_manifest(store.read(index_sha256))


def check_index_files(index_sha256: str, manifest: IndexManifest, paths: dict[str, Path]) -> None:
    """Raise StaleIndexError (naming the file) unless every file matches its hash."""
    for name in FILES:
        ref = getattr(manifest, name)
        actual = sha256_file(paths[name])
        if actual != ref.sha256:
            raise StaleIndexError(
                f"index {index_sha256}: its {name} file no longer hashes to {ref.sha256} "
                f"(it hashes to {actual}); the index is stale and is not served: rebuild it "
                "with `pnyx data index`"
            )


def open_index(store: ArtifactStore, index_sha256: str) -> ShardIndex:
    """The index ``index_sha256`` memory-mapped, after checking every file's hash.

    NotFoundError when a file is missing; StaleIndexError when one was changed
    (ArtifactIntegrityError when the manifest itself was).
    """
    key = (str(store.root), index_sha256)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            try:
                if _stamp(cached[1].paths) == cached[0]:
                    return cached[1]
            except FileNotFoundError:
                pass
            _CACHE.pop(key)
            cached[1].close()
        index = _open_checked(store, index_sha256)
        _CACHE[key] = (_stamp(index.paths), index)
        return index


def _open_checked(store: ArtifactStore, index_sha256: str) -> ShardIndex:
    manifest = read_index_manifest(store, index_sha256)
    paths = {name: store.path(getattr(manifest, name).sha256) for name in FILES}
    missing = [name for name in FILES if not paths[name].is_file()]
    if missing:
        raise NotFoundError(
            f"index {index_sha256}: file(s) {', '.join(missing)} missing from the store; "
            "rebuild it with `pnyx data index`"
        )
    check_index_files(index_sha256, manifest, paths)
    return ShardIndex(index_sha256, manifest, paths)


def close_all() -> None:
    """Close every cached index (tests; a process about to delete its store)."""
    with _LOCK:
        for _, index in _CACHE.values():
            index.close()
        _CACHE.clear()
