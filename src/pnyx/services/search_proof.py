"""Proofs of (non-)membership of a text in a dataset version, verifiable offline.

``prove`` gathers, for the first located occurrence (or, for an absent text, for every shard),
the shard line and its proof in the line tree, the index manifests, the dataset manifest, the
ledger entries that recorded them with inclusion proofs, and a signed checkpoint covering them;
``pnyx.data.search.proof.verify_proof`` checks all of it with the log's public key alone.
"""

from __future__ import annotations

import base64
from typing import Any

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.search.proof import (
    LedgerEntry,
    OccurrenceEvidence,
    ShardEvidence,
    line_proof,
    render_proof,
)
from pnyx.data.search.query import count_version, encode_query, locate_version
from pnyx.errors import NotFoundError
from pnyx.services import checkpoints
from pnyx.services.context import ServiceContext
from pnyx.services.ledger import prove_inclusion
from pnyx.services.search import open_version
from pnyx.store import ledger_repo, search_repo


def prove(ctx: ServiceContext, store: ArtifactStore, ref: str, query: str) -> dict[str, Any]:
    """A proof document that ``query`` occurs (or does not) in ``ref`` (public).

    Issues a checkpoint first when the latest one does not yet cover the entries involved.
    """
    pattern = encode_query(query)
    version, index = open_version(ctx, store, ref)
    total, _ = count_version(index, pattern)
    hits = locate_version(index, pattern, 1)
    with ctx.db.read() as conn:
        recorded = search_repo.shard_indexes(conn, version.dataset, version.version)
    numbers = [hits[0].shard] if hits else list(range(len(index.shards)))
    needed = max([version.added_seq, *(recorded[n].seq for n in numbers)])
    size, note = _checkpoint_covering(ctx, needed)
    occurrence = None
    if hits:
        hit = hits[0]
        line, path = line_proof(store.read(hit.shard_sha256), hit.doc)
        occurrence = OccurrenceEvidence(hit.shard, hit.doc, hit.offset, line, path)
    shards = [
        ShardEvidence(
            n,
            index.shards[n].manifest.to_bytes().decode(),
            _entry(ctx, recorded[n].seq, size),
        )
        for n in numbers
    ]
    return render_proof(
        query=query,
        dataset=version.dataset,
        version=version.version,
        count=total,
        occurrence=occurrence,
        shards=shards,
        dataset_manifest=version.manifest_text.encode("utf-8"),
        version_entry=_entry(ctx, version.added_seq, size),
        checkpoint=note,
        log_key=checkpoints.log_verifier_key(ctx),
    )


def _checkpoint_covering(ctx: ServiceContext, seq: int) -> tuple[int, str]:
    """(size, signed note) of the latest checkpoint, issuing one if it does not cover ``seq``."""
    with ctx.db.read() as conn:
        latest = ledger_repo.latest_checkpoint(conn)
    if latest is None or latest.size <= seq:
        checkpoints.require_signer(ctx)
        checkpoints.checkpoint_if_grown(ctx)
        with ctx.db.read() as conn:
            latest = ledger_repo.latest_checkpoint(conn)
    if latest is None or latest.size <= seq:  # pragma: no cover  (the log holds seq)
        raise NotFoundError(f"no checkpoint covers ledger entry {seq}")
    return latest.size, latest.note


def _entry(ctx: ServiceContext, seq: int, size: int) -> LedgerEntry:
    proof = prove_inclusion(ctx, index=seq, size=size)
    with ctx.db.read() as conn:
        [text] = ledger_repo.entry_texts(conn, seq, seq + 1)
    return LedgerEntry(seq, text, [base64.b64decode(h) for h in proof.proof])
