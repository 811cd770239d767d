"""Queries over every shard of a dataset version: validation, counts and located hits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pnyx.data.search.index import ShardIndex, Snippet, StaleIndexError
from pnyx.errors import InvalidInputError

MAX_QUERY_BYTES = 1 << 20  # 1 MiB
MAX_LOCATE = 1000


def encode_query(query: str) -> bytes:
    """The UTF-8 bytes of ``query``; InvalidInputError when empty or longer than 1 MiB."""
    if not query:
        raise InvalidInputError("the query is empty: give the exact text to search for")
    try:
        data = query.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidInputError(f"the query is not valid Unicode text: {e}") from e
    if len(data) > MAX_QUERY_BYTES:
        raise InvalidInputError(
            f"the query has {len(data)} bytes; at most {MAX_QUERY_BYTES} (1 MiB) are allowed"
        )
    return data


def check_limit(limit: int) -> int:
    """``limit`` if it is 1..1000, else InvalidInputError."""
    if not 1 <= limit <= MAX_LOCATE:
        raise InvalidInputError(f"limit must be 1..{MAX_LOCATE}, got {limit}")
    return limit


@dataclass(frozen=True)
class VersionIndex:
    """The indexes of one dataset version, in manifest shard order."""

    shards: Sequence[ShardIndex]
    offsets: Sequence[int]  # global index of each shard's first document


def check_version_index(index: VersionIndex, shard_hashes: Sequence[str]) -> None:
    """StaleIndexError unless shard ``i``'s index was built from the version's shard ``i``."""
    if len(index.shards) != len(shard_hashes):
        raise StaleIndexError(
            f"{len(index.shards)} shard indexes for {len(shard_hashes)} shards: not served"
        )
    for number, (shard, sha) in enumerate(zip(index.shards, shard_hashes, strict=True)):
        if shard.shard_sha256 != sha:
            raise StaleIndexError(
                f"shard {number}: the index {shard.index_sha256} was built from shard "
                f"{shard.shard_sha256}, but the version holds {sha}; it is stale and not served"
            )


@dataclass(frozen=True)
class Hit:
    """One located occurrence across a dataset version."""

    shard: int  # shard number in manifest order
    shard_sha256: str
    doc: int  # line number within the shard
    global_doc: int  # manifest shard order, then line order
    doc_id: str
    offset: int  # byte offset in the document's UTF-8 text
    snippet: Snippet
    record_sha256: str  # the document's record hash (what an opt-out removal names)


def count_version(index: VersionIndex, pattern: bytes) -> tuple[int, list[int]]:
    """Total occurrences of ``pattern`` and the count per shard."""
    per_shard = [shard.count(pattern) for shard in index.shards]
    return sum(per_shard), per_shard


def locate_version(index: VersionIndex, pattern: bytes, limit: int) -> list[Hit]:
    """Up to ``limit`` occurrences (every one when there are fewer), in shard, document and
    offset order. When there are more, which ones are returned is fixed by the index (suffix
    order), not by position."""
    hits: list[Hit] = []
    for number, (shard, first) in enumerate(zip(index.shards, index.offsets, strict=True)):
        if len(hits) >= limit:
            break
        hits.extend(
            Hit(
                shard=number,
                shard_sha256=shard.shard_sha256,
                doc=occ.doc,
                global_doc=first + occ.doc,
                doc_id=shard.doc_id(occ.doc),
                offset=occ.offset,
                snippet=shard.snippet(occ, len(pattern)),
                record_sha256=shard.record_sha256(occ.doc),
            )
            for occ in shard.locate(pattern, limit - len(hits))
        )
    return hits
