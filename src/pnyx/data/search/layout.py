"""The index manifest: the small canonical JSON object that names every file of an index.

An index is five artifacts in the content-addressed store: the indexed ``text`` (documents
joined by 0xFF), the suffix array ``sa`` (little-endian int32, or int64 when the text is 2 GiB
or more; suffixes starting at a separator are left out), the document-offset table ``docs``
(little-endian int64), the documents' ``ids`` (a JSON array of ``[id, record sha256]`` in line
order) and this manifest, whose SHA-256
(of its canonical bytes, i.e. its artifact name) is the **index hash** recorded on the ledger::

    {"format": "pnyx-search-index/1", "separator": 255, "builder": "libdivsufsort (pydivsufsort)",
     "shard": {"sha256", "bytes", "records", "line_root"},
     "text": {"sha256", "bytes"}, "sa": {"sha256", "bytes", "dtype", "entries"},
     "docs": {"sha256", "bytes"}, "ids": {"sha256", "bytes"}}

``line_root`` is the hex RFC 9162 Merkle root over the shard's lines: it is what a membership
proof climbs from one document's line to the shard.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pnyx.errors import InvalidInputError

FORMAT = "pnyx-search-index/1"
BUILDER = "libdivsufsort (pydivsufsort)"
SA_DTYPES = {"<i4": 4, "<i8": 8}
INT32_LIMIT = 2**31 - 1  # texts of this many bytes or more get an int64 suffix array
FILES = ("text", "sa", "docs", "ids")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class FileRef:
    """One file of an index: its artifact hash and size."""

    sha256: str
    bytes: int


@dataclass(frozen=True)
class IndexManifest:
    """What an index is made of; :meth:`to_bytes` is canonical (its hash is the index hash)."""

    shard_sha256: str
    shard_bytes: int
    records: int
    line_root: str
    text: FileRef
    sa: FileRef
    sa_dtype: str
    sa_entries: int
    docs: FileRef
    ids: FileRef

    def __post_init__(self) -> None:
        for what, sha in self._hashes():
            if not _HEX64.match(sha):
                raise InvalidInputError(f"index manifest: {what} is not a hex SHA-256: {sha!r}")
        if self.sa_dtype not in SA_DTYPES:
            raise InvalidInputError(f"index manifest: unknown suffix-array dtype {self.sa_dtype}")
        if self.sa.bytes != self.sa_entries * SA_DTYPES[self.sa_dtype]:
            raise InvalidInputError("index manifest: sa bytes do not match its entries and dtype")
        if self.docs.bytes != 8 * (self.records + 1):
            raise InvalidInputError("index manifest: docs bytes do not match the record count")
        if self.sa_entries != self.text.bytes - self.records:
            raise InvalidInputError("index manifest: sa entries != text bytes - separators")

    def _hashes(self) -> list[tuple[str, str]]:
        files = [(name, getattr(self, name).sha256) for name in FILES]
        return [("shard.sha256", self.shard_sha256), ("shard.line_root", self.line_root), *files]

    def index_bytes(self) -> int:
        """Bytes of the index files (text, suffix array, offsets, ids), manifest excluded."""
        return sum(getattr(self, name).bytes for name in FILES)

    def to_json(self) -> dict[str, Any]:
        """The manifest as a JSON object."""
        return {
            "format": FORMAT,
            "separator": 255,
            "builder": BUILDER,
            "shard": {
                "sha256": self.shard_sha256,
                "bytes": self.shard_bytes,
                "records": self.records,
                "line_root": self.line_root,
            },
            "text": _ref(self.text),
            "sa": {**_ref(self.sa), "dtype": self.sa_dtype, "entries": self.sa_entries},
            "docs": _ref(self.docs),
            "ids": _ref(self.ids),
        }

    def to_bytes(self) -> bytes:
        """Canonical bytes (sorted keys, compact, ASCII only: identical to RFC 8785 here)."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()


def _ref(ref: FileRef) -> dict[str, Any]:
    return {"sha256": ref.sha256, "bytes": ref.bytes}


def parse_index_manifest(data: bytes) -> IndexManifest:
    """An index manifest from its canonical bytes; InvalidInputError when malformed."""
    try:
        obj = json.loads(data)
        if obj.get("format") != FORMAT:
            raise InvalidInputError(f"index manifest: format is not {FORMAT}")
        shard, sa = obj["shard"], obj["sa"]
        manifest = IndexManifest(
            shard_sha256=shard["sha256"],
            shard_bytes=int(shard["bytes"]),
            records=int(shard["records"]),
            line_root=shard["line_root"],
            text=_file(obj["text"]),
            sa=_file(sa),
            sa_dtype=sa["dtype"],
            sa_entries=int(sa["entries"]),
            docs=_file(obj["docs"]),
            ids=_file(obj["ids"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise InvalidInputError(f"index manifest is malformed: {e!r}") from e
    if manifest.to_bytes() != data:
        raise InvalidInputError("index manifest is not in canonical form")
    return manifest


def _file(obj: dict[str, Any]) -> FileRef:
    return FileRef(str(obj["sha256"]), int(obj["bytes"]))
