"""Witnesses of the log: registration (an event) and their cosignatures (log metadata).

Cosignatures are stored in a log table, not recorded as events: they are statements *about*
the log (a witness saw checkpoint N and found it consistent). Recording one as an event would
append a leaf and move the tree past the very checkpoint it cosigns, so every cosignature would
make a new checkpoint necessary, which would need new cosignatures, and so on.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from pnyx.domain.identity import Actor, Role, require_role
from pnyx.domain.witness import decide_register_witness
from pnyx.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from pnyx.ledger import note
from pnyx.services.context import ServiceContext
from pnyx.services.dto import Page
from pnyx.services.ledger_dto import CosignatureView, WitnessView
from pnyx.services.record import record
from pnyx.store import identity_repo
from pnyx.store import ledger_repo as repo

MAX_COSIGNATURE_PAGE = 1000


def register_witness(
    ctx: ServiceContext, actor: Actor, name: str, verifier_key: str, member_id: str | None = None
) -> WitnessView:
    """Register a witness key (type 0x04, cosignature/v1) that may cosign checkpoints."""
    require_role(actor, Role.OPERATOR)
    verifier = parse_witness_key(verifier_key)
    witness_id = "w-" + verifier.key_id.hex()
    with ctx.db.transaction() as conn:
        taken = repo.witness_key_taken(conn, verifier.key_string)
        taken = taken or repo.witness_row(conn, witness_id) is not None
        member_ok = member_id is None or identity_repo.member_row(conn, member_id) is not None
        event = decide_register_witness(
            witness_id,
            name,
            verifier.key_string,
            member_id,
            key_taken=taken,
            member_exists=member_ok,
        )
        record(conn, ctx, actor, [event])
        row = repo.witness_row(conn, witness_id)
    assert row is not None
    return _witness_view(row)


def list_witnesses(ctx: ServiceContext) -> list[WitnessView]:
    """Every registered witness (public)."""
    with ctx.db.read() as conn:
        return [_witness_view(r) for r in repo.witness_rows(conn)]


def parse_witness_key(verifier_key: str) -> note.Verifier:
    """Parse a witness verifier key; it must be a cosignature/v1 (0x04) key."""
    verifier = note.parse_verifier_key(verifier_key.strip())
    if verifier.alg != note.ALG_COSIGNATURE_V1:
        raise InvalidInputError(
            f"witness key {verifier.key_string} has type 0x{verifier.alg:02x}; witnesses "
            "cosign with type 0x04 (cosignature/v1) keys: create one with `pnyx witness keygen`"
        )
    return verifier


def add_cosignature(
    ctx: ServiceContext, checkpoint_size: int, line: str
) -> tuple[CosignatureView, bool]:
    """Verify and store a witness's cosignature of the checkpoint of ``checkpoint_size``.

    The signature itself authenticates the caller: it must come from a registered witness key
    and verify over the stored checkpoint. Idempotent: a witness's first cosignature of a
    checkpoint is kept; returns (the stored cosignature, newly stored).
    """
    signature = note.parse_signature_line(line)
    with ctx.db.read() as conn:
        witness = _witness_for(conn, signature)
        checkpoint = repo.checkpoint_by_size(conn, checkpoint_size)
    if checkpoint is None:
        raise NotFoundError(f"no checkpoint of size {checkpoint_size} was issued")
    body, _ = note.split_note(checkpoint.note)
    verifier = note.parse_verifier_key(witness["verifier_key"])
    timestamp = note.verify_cosignature(body, signature.render(), verifier)
    values = {
        "checkpoint_id": checkpoint.id,
        "witness_id": witness["witness_id"],
        "key_id": signature.key_id.hex(),
        "timestamp": timestamp,
        "line": signature.render(),
    }
    existing = _store_once(ctx, values)
    return _cosignature_view(checkpoint_size, existing or values), existing is None


def list_cosignatures(
    ctx: ServiceContext, offset: int = 0, limit: int = 100
) -> Page[CosignatureView]:
    """Every stored cosignature, by checkpoint size then witness (public: what verifiers check)."""
    if offset < 0 or not 1 <= limit <= MAX_COSIGNATURE_PAGE:
        raise InvalidInputError(
            f"need offset >= 0 and limit 1..{MAX_COSIGNATURE_PAGE}, got {offset}, {limit}"
        )
    with ctx.db.read() as conn:
        rows, total = repo.cosignature_page(conn, offset, limit)
    items = [_cosignature_view(int(r["checkpoint_size"]), r) for r in rows]
    return Page(items=items, total=total, offset=offset, limit=limit)


def _store_once(ctx: ServiceContext, values: dict[str, Any]) -> dict[str, Any] | None:
    """Insert a cosignature unless the witness cosigned this checkpoint; returns the existing."""
    key = (values["checkpoint_id"], values["witness_id"])
    try:
        with ctx.db.transaction() as conn:
            existing = repo.cosignature_row(conn, *key)
            if existing is None:
                repo.insert_cosignature(conn, values)
            return existing
    except IntegrityError:  # a concurrent post of the same witness's cosignature won
        with ctx.db.read() as conn:
            return repo.cosignature_row(conn, *key)


def _witness_for(conn: Connection, signature: note.NoteSignature) -> dict[str, Any]:
    for row in repo.witness_rows(conn, key_name=signature.name):
        if row["key_id"] == signature.key_id.hex():
            return row
    raise PermissionDeniedError(
        f"cosignature key {signature.name}+{signature.key_id.hex()} is not a registered witness"
    )


def _witness_view(row: dict[str, Any]) -> WitnessView:
    return WitnessView(
        witness_id=row["witness_id"],
        name=row["name"],
        verifier_key=row["verifier_key"],
        member_id=row["member_id"],
        registered_at=row["registered_at"],
    )


def _cosignature_view(size: int, row: dict[str, Any]) -> CosignatureView:
    return CosignatureView(
        checkpoint_size=size,
        witness_id=row["witness_id"],
        key_id=row["key_id"],
        timestamp=int(row["timestamp"]),
        line=row["line"],
    )
