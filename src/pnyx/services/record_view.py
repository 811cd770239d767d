"""What the portal's Record page reads: the latest checkpoint with the log key and its
witnesses' cosignatures, and one entry with its inclusion proof against that checkpoint,
checked here with :func:`pnyx.ledger.merkle.verify_inclusion`. Public and read-only."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from pnyx.errors import InvalidInputError, NotFoundError, PnyxError, VerificationError
from pnyx.ledger import merkle, note
from pnyx.services import ledger, witnesses
from pnyx.services.checkpoints import checkpoint_view
from pnyx.services.context import ServiceContext
from pnyx.services.ledger_dto import CheckpointView, CosignatureView, WitnessView
from pnyx.store import ledger_repo as repo
from pnyx.store import tree


@dataclass(frozen=True)
class WitnessStatus:
    """A registered witness and its cosignature of the latest checkpoint (None: not yet)."""

    witness: WitnessView
    cosignature: CosignatureView | None
    cosignature_ok: bool


@dataclass(frozen=True)
class RecordHead:
    """The latest checkpoint (None before the first), the log key and the witnesses."""

    tree_size: int
    checkpoint: CheckpointView | None
    verifier_key: str | None
    signature_ok: bool
    witnesses: list[WitnessStatus]


@dataclass(frozen=True)
class EntryCheck:
    """One entry, its leaf hash and its inclusion proof against the latest checkpoint."""

    index: int
    size: int
    root_hash: str
    entry: str
    leaf_hash: str
    proof: list[str]
    verified: bool
    problem: str | None


def record_head(ctx: ServiceContext) -> RecordHead:
    """The latest checkpoint, whether the log key verifies it, and who cosigned it."""
    key = ctx.log_signer.verifier_key if ctx.log_signer else None
    registered = witnesses.list_witnesses(ctx)
    with ctx.db.read() as conn:
        size, _ = tree.tree_head(conn)
        latest = repo.latest_checkpoint(conn)
        cosigs = {
            w.witness_id: repo.cosignature_row(conn, latest.id, w.witness_id)
            for w in registered
            if latest is not None
        }
    statuses = []
    for w in registered:
        cosig = cosigs.get(w.witness_id)
        if latest is None or cosig is None:
            statuses.append(WitnessStatus(w, None, False))
            continue
        view = _cosignature_view(latest.size, cosig)
        statuses.append(WitnessStatus(w, view, _cosignature_ok(latest.note, w, view.line)))
    return RecordHead(
        tree_size=size,
        checkpoint=checkpoint_view(latest) if latest else None,
        verifier_key=key,
        signature_ok=latest is not None and key is not None and _signature_ok(latest.note, key),
        witnesses=statuses,
    )


def check_entry(
    ctx: ServiceContext, *, index: int | None = None, leaf_hash: str | None = None
) -> EntryCheck:
    """Entry ``index`` (or the one with base64 ``leaf_hash``) with its inclusion proof against
    the latest checkpoint, verified against that checkpoint's root."""
    if (index is None) == (leaf_hash is None):
        raise InvalidInputError("give an entry number or a leaf hash")
    head = ledger.log_head(ctx)
    checkpoint = head.checkpoint
    if checkpoint is None:
        raise NotFoundError("no checkpoint has been issued yet: there is nothing to prove against")
    if index is not None:
        _check_covered(index, checkpoint.size, head.size)
    proof = ledger.prove_inclusion(ctx, index=index, leaf_hash=leaf_hash, size=checkpoint.size)
    entry = ledger.read_entries(ctx, proof.index, proof.index + 1).entries[0]
    computed = merkle.leaf_hash(entry.encode())
    problem = None
    try:
        if ledger.b64(computed) != proof.leaf_hash:
            raise VerificationError(
                f"the entry hashes to {ledger.b64(computed)}, the log stores {proof.leaf_hash}"
            )
        merkle.verify_inclusion(
            computed,
            proof.index,
            checkpoint.size,
            [base64.b64decode(h) for h in proof.proof],
            base64.b64decode(checkpoint.root_hash),
        )
    except VerificationError as e:
        problem = str(e)
    return EntryCheck(
        index=proof.index,
        size=checkpoint.size,
        root_hash=checkpoint.root_hash,
        entry=entry,
        leaf_hash=ledger.b64(computed),
        proof=proof.proof,
        verified=problem is None,
        problem=problem,
    )


def _check_covered(index: int, checkpoint_size: int, tree_size: int) -> None:
    if index < 0:
        raise InvalidInputError(f"entry {index}: entry numbers start at 0")
    if index < checkpoint_size:
        return
    if index < tree_size:
        raise NotFoundError(
            f"entry {index} was recorded after the latest checkpoint (size {checkpoint_size}): "
            "it can be proved once the next checkpoint is signed"
        )
    raise NotFoundError(
        f"there is no entry {index}: the latest checkpoint covers entries 0 to "
        f"{checkpoint_size - 1}"
    )


def _signature_ok(checkpoint_note: str, key: str) -> bool:
    try:
        note.open_checkpoint(checkpoint_note, [note.parse_verifier_key(key)])
    except PnyxError:
        return False
    return True


def _cosignature_ok(checkpoint_note: str, witness: WitnessView, line: str) -> bool:
    body, _ = note.split_note(checkpoint_note)
    try:
        note.verify_cosignature(body, line, note.parse_verifier_key(witness.verifier_key))
    except PnyxError:
        return False
    return True


def _cosignature_view(size: int, row: dict[str, object]) -> CosignatureView:
    return CosignatureView(
        checkpoint_size=size,
        witness_id=str(row["witness_id"]),
        key_id=str(row["key_id"]),
        timestamp=int(str(row["timestamp"])),
        line=str(row["line"]),
    )
