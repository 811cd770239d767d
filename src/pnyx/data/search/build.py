"""Build one text shard's index into the artifact store.

The suffix array comes from libdivsufsort (through pydivsufsort), a well-kept O(n log n)
construction; numpy only slices and writes it. Building is deterministic: the same shard always
gives the same index files and so the same index hash, which anyone can rebuild and compare.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pydivsufsort  # type: ignore[import-untyped]

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.search.corpus import ShardText, shard_text
from pnyx.data.search.layout import INT32_LIMIT, FileRef, IndexManifest

_CHUNK = 1 << 24


@dataclass(frozen=True)
class BuiltIndex:
    """An index now in the store: its hash (the manifest's artifact name) and manifest."""

    index_sha256: str
    manifest: IndexManifest


def suffix_array(text: bytes, documents: int) -> npt.NDArray[np.int32] | npt.NDArray[np.int64]:
    """Suffix array of ``text`` without the ``documents`` suffixes that start at a separator.

    0xFF is the largest byte value and occurs only as a separator, so those suffixes sort last:
    dropping them is a slice. int32 below 2 GiB of text, int64 from there.
    """
    if not text:
        return np.empty(0, dtype=np.int32)
    sa: npt.NDArray[np.int32] | npt.NDArray[np.int64]
    sa = pydivsufsort.divsufsort(text, force64=len(text) > INT32_LIMIT)
    return sa[: len(text) - documents]


def build_shard_index(store: ArtifactStore, shard: bytes, shard_sha256: str) -> BuiltIndex:
    """Index the JSONL text shard ``shard`` (whose hash is ``shard_sha256``) into ``store``."""
    corpus = shard_text(shard)
    sa = suffix_array(corpus.text, corpus.documents)
    dtype = "<i8" if sa.dtype == np.int64 else "<i4"
    manifest = IndexManifest(
        shard_sha256=shard_sha256,
        shard_bytes=len(shard),
        records=corpus.documents,
        line_root=corpus.line_root.hex(),
        text=_put(store, corpus.text),
        sa=_put(store, sa.astype(dtype, copy=False)),
        sa_dtype=dtype,
        sa_entries=len(sa),
        docs=_put(store, corpus.starts.astype("<i8", copy=False)),
        ids=_put(store, _ids_bytes(corpus)),
    )
    return BuiltIndex(store.put_bytes(manifest.to_bytes()), manifest)


def _ids_bytes(corpus: ShardText) -> bytes:
    pairs = [[i, h] for i, h in zip(corpus.ids, corpus.hashes, strict=True)]
    return json.dumps(pairs, ensure_ascii=False, separators=(",", ":")).encode()


def _put(store: ArtifactStore, data: bytes | npt.NDArray[np.generic]) -> FileRef:
    """Write ``data`` into ``store`` through a temporary file (no second in-memory copy)."""
    raw = data if isinstance(data, bytes) else np.ascontiguousarray(data).view(np.uint8).data
    view = memoryview(raw).cast("B")
    digest = hashlib.sha256()
    tmp_dir = store.root / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=".index-")
    try:
        with os.fdopen(fd, "wb") as f:
            for start in range(0, len(view), _CHUNK):
                chunk = view[start : start + _CHUNK]
                digest.update(chunk)
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        sha = digest.hexdigest()
        target = store.path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return FileRef(sha, len(view))
