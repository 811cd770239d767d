"""Training-data search indexes on the record: which index serves which shard of a version.

An index is built per shard; each built shard is one ``dataset.index_built`` event, so a build
that stops half-way resumes with the shards not yet recorded, and an identical shard in a later
version (after an opt-out removal, most shards are unchanged) reuses its index by hash. The
event binds the index hash (its manifest's SHA-256) to the shard hash and the dataset version's
manifest hash: that is what lets a membership proof, and a negative answer, rest on the ledger.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pnyx.domain.events import Event, event_type
from pnyx.errors import NotFoundError


@event_type
@dataclass(frozen=True)
class DatasetIndexBuilt(Event):
    """Shard ``shard`` (manifest order) of ``dataset@version`` is searchable through an index.

    ``index_sha256`` names the index manifest artifact (which names the text, suffix-array,
    offset and id files by hash); ``line_root`` is the Merkle root over the shard's lines.
    """

    KIND = "dataset.index_built"
    dataset: str
    version: int
    manifest_sha256: str
    shard: int
    shard_sha256: str
    index_sha256: str
    line_root: str
    documents: int
    text_bytes: int
    index_bytes: int


@dataclass(frozen=True)
class ShardIndexRef:
    """A recorded shard index (a row of the projection)."""

    shard: int
    shard_sha256: str
    index_sha256: str
    manifest_sha256: str
    seq: int  # ledger position of its dataset.index_built event


def shards_to_build(
    shard_hashes: Sequence[str], recorded: Mapping[int, ShardIndexRef], manifest_sha256: str
) -> list[int]:
    """Shard numbers that still need an index event for this version (resume order)."""
    out = []
    for number, sha in enumerate(shard_hashes):
        ref = recorded.get(number)
        if ref is None or ref.shard_sha256 != sha or ref.manifest_sha256 != manifest_sha256:
            out.append(number)
    return out


def check_complete(
    dataset: str,
    version: int,
    shard_hashes: Sequence[str],
    recorded: Mapping[int, ShardIndexRef],
    manifest_sha256: str,
) -> list[ShardIndexRef]:
    """The recorded indexes of every shard, in order; raise when any is missing or stale."""
    missing = shards_to_build(shard_hashes, recorded, manifest_sha256)
    if len(missing) == len(shard_hashes) and shard_hashes:
        raise NotFoundError(
            f"{dataset}@{version} has no search index: build it with "
            f"`pnyx data index {dataset}@{version}`"
        )
    if missing:
        raise NotFoundError(
            f"{dataset}@{version}: shard(s) {', '.join(map(str, missing))} have no current index "
            f"(missing or built for other shard bytes): run `pnyx data index {dataset}@{version}`"
        )
    return [recorded[n] for n in range(len(shard_hashes))]
