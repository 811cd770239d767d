"""A text shard as the index sees it: its documents' UTF-8 bytes joined by a separator.

Each document's text is followed by one 0xFF byte. 0xFF never occurs in UTF-8, and queries are
UTF-8, so a match can never span two documents: no boundary handling is needed at query time.
The document-offset table ``starts`` has one entry per document plus the text length:
document ``d`` occupies ``text[starts[d] : starts[d + 1] - 1]``.

The shard's lines are also the leaves of an RFC 9162 Merkle tree (its *line root*), so one
document's line can later be proven part of the shard without the rest of the shard's bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pnyx.errors import InvalidInputError
from pnyx.ledger import merkle

SEPARATOR = 0xFF
SEPARATOR_BYTE = bytes([SEPARATOR])


@dataclass(frozen=True)
class ShardText:
    """The indexed text of one shard, its document table and its lines' Merkle root."""

    text: bytes
    starts: npt.NDArray[np.int64]  # len(ids) + 1 entries; the last is len(text)
    ids: list[str]
    hashes: list[str]  # each document's record sha256 (of its text), as the shard states it
    line_root: bytes

    @property
    def documents(self) -> int:
        """Number of documents."""
        return len(self.ids)


def split_lines(shard: bytes) -> list[bytes]:
    """The lines of a JSONL shard without their newlines; every line must end in one."""
    if not shard:
        return []
    if not shard.endswith(b"\n"):
        raise InvalidInputError("text shard: the last line does not end in a newline")
    return shard.split(b"\n")[:-1]


def line_root(lines: Sequence[bytes]) -> bytes:
    """The RFC 9162 Merkle root over the shard's lines (each line is one leaf)."""
    return merkle.root_hash(lines)


def parse_document(line: bytes, number: int) -> tuple[str, str, str]:
    """``(id, text, sha256)`` of one shard line; InvalidInputError naming the line if malformed."""
    try:
        obj = json.loads(line)
    except (UnicodeDecodeError, ValueError) as e:
        raise InvalidInputError(f"text shard line {number + 1}: not UTF-8 JSON: {e}") from e
    if not isinstance(obj, dict):
        raise InvalidInputError(f"text shard line {number + 1}: not a JSON object")
    doc_id, text, sha = obj.get("id"), obj.get("text"), obj.get("sha256")
    if not (isinstance(doc_id, str) and isinstance(text, str) and isinstance(sha, str)):
        raise InvalidInputError(f"text shard line {number + 1}: id, text, sha256 must be strings")
    return doc_id, text, sha


def shard_text(shard: bytes) -> ShardText:
    """The indexed text of a JSONL text shard (documents in line order)."""
    lines = split_lines(shard)
    parts: list[bytes] = []
    ids: list[str] = []
    hashes: list[str] = []
    starts = np.empty(len(lines) + 1, dtype=np.int64)
    pos = 0
    for number, line in enumerate(lines):
        doc_id, text, sha = parse_document(line, number)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidInputError(f"text shard line {number + 1}: text is not UTF-8") from e
        starts[number] = pos
        parts.append(data)
        ids.append(doc_id)
        hashes.append(sha)
        pos += len(data) + 1
    starts[len(lines)] = pos
    joined = SEPARATOR_BYTE.join(parts) + (SEPARATOR_BYTE if parts else b"")
    return ShardText(joined, starts, ids, hashes, line_root(lines))
