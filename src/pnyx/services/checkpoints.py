"""Signed checkpoints: C2SP tlog-checkpoint bodies signed as Ed25519 signed notes.

A checkpoint is always issued inside a write transaction that holds the log's append lock, for
the tree head of that transaction, so it never names a size that is not committed. Issued:
by :func:`checkpoint_if_due` inside every :func:`pnyx.services.record.record` (every
``ctx.checkpoint_every_events`` events), by the checkpointer worker every T seconds
(:func:`checkpoint_if_grown`) and on demand (:func:`issue_checkpoint`). Every checkpoint is
kept: verifiers check that each later one is consistent with each earlier one.
"""

from __future__ import annotations

import base64

from sqlalchemy import Connection

from pnyx.domain.identity import Actor, Role, require_role
from pnyx.errors import ConflictError, InvalidInputError, NotFoundError
from pnyx.ledger import note
from pnyx.services.context import ServiceContext
from pnyx.services.dto import Page
from pnyx.services.ledger_dto import CheckpointView
from pnyx.store import ledger_repo as repo
from pnyx.store.eventstore import log_size
from pnyx.store.ledger_repo import CheckpointRow
from pnyx.store.tree import tree_head

MAX_PAGE = 500


def require_signer(ctx: ServiceContext) -> note.Signer:
    """The log's signing key, or raise if this deployment has none."""
    if ctx.log_signer is None:
        raise NotFoundError("this log has no signing key configured (see PNYX_LOG_KEY_FILE)")
    return ctx.log_signer


def log_verifier_key(ctx: ServiceContext) -> str:
    """The log's public note verifier key ``name+keyid+base64``."""
    return require_signer(ctx).verifier_key


def checkpoint_view(row: CheckpointRow) -> CheckpointView:
    """The public view of a stored checkpoint."""
    root = base64.b64encode(row.root_hash).decode()
    return CheckpointView(size=row.size, root_hash=root, issued_at=row.issued_at, note=row.note)


def checkpoint_if_due(conn: Connection, ctx: ServiceContext) -> CheckpointRow | None:
    """In the caller's append transaction: sign the head if the log grew by the threshold."""
    if ctx.log_signer is None:
        return None
    size, root = tree_head(conn)
    latest = repo.latest_checkpoint(conn)
    if size - (latest.size if latest else 0) < ctx.checkpoint_every_events:
        return None
    return _sign_and_store(conn, ctx, ctx.log_signer, latest, size, root)


def checkpoint_if_grown(ctx: ServiceContext) -> CheckpointView | None:
    """Sign the head if the log grew since the last checkpoint (the periodic worker's step)."""
    signer = ctx.log_signer
    if signer is None:
        return None
    with ctx.db.read() as conn:
        if not _grown(conn):
            return None
    with ctx.db.transaction() as conn:
        log_size(conn, lock=True)
        if not _grown(conn):  # another issuer got there first
            return None
        size, root = tree_head(conn)
        row = _sign_and_store(conn, ctx, signer, repo.latest_checkpoint(conn), size, root)
    return checkpoint_view(row)


def issue_checkpoint(ctx: ServiceContext, actor: Actor) -> tuple[CheckpointView, bool]:
    """Sign the current head now (operators); returns (checkpoint, newly issued).

    The checkpoint of the current size is returned unchanged if it exists already.
    """
    require_role(actor, Role.OPERATOR)
    signer = require_signer(ctx)
    with ctx.db.transaction() as conn:
        log_size(conn, lock=True)
        size, root = tree_head(conn)
        if size == 0:
            raise ConflictError("the log is empty: there is nothing to checkpoint yet")
        latest = repo.latest_checkpoint(conn)
        if latest is not None and latest.size == size:
            return checkpoint_view(latest), False
        row = _sign_and_store(conn, ctx, signer, latest, size, root)
    return checkpoint_view(row), True


def latest_checkpoint(ctx: ServiceContext) -> CheckpointView | None:
    """The newest checkpoint (without cosignatures), or None."""
    with ctx.db.read() as conn:
        row = repo.latest_checkpoint(conn)
    return checkpoint_view(row) if row else None


def latest_cosigned_note(ctx: ServiceContext) -> str:
    """The newest checkpoint note with its witnesses' cosignature lines appended (C2SP style)."""
    with ctx.db.read() as conn:
        row = repo.latest_checkpoint(conn)
        if row is None:
            raise NotFoundError("no checkpoint has been issued yet")
        lines = repo.cosignature_lines(conn, row.id, note.MAX_SIGNATURES - 1)
    return row.note + "".join(lines)


def list_checkpoints(
    ctx: ServiceContext, offset: int = 0, limit: int = 100
) -> Page[CheckpointView]:
    """Every checkpoint, oldest first."""
    _check_page(offset, limit)
    with ctx.db.read() as conn:
        rows, total = repo.checkpoint_page(conn, offset, limit)
    items = [checkpoint_view(r) for r in rows]
    return Page(items=items, total=total, offset=offset, limit=limit)


def _check_page(offset: int, limit: int) -> None:
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(f"need offset >= 0 and limit 1..{MAX_PAGE}, got {offset}, {limit}")


def _grown(conn: Connection) -> bool:
    size, _ = tree_head(conn)
    latest = repo.latest_checkpoint(conn)
    return size > (latest.size if latest else 0)


def _sign_and_store(
    conn: Connection,
    ctx: ServiceContext,
    signer: note.Signer,
    latest: CheckpointRow | None,
    size: int,
    root: bytes,
) -> CheckpointRow:
    if latest is not None:
        _check_same_key(latest, signer)
    signed = note.sign_note(note.Checkpoint(signer.name, size, root).render(), [signer])
    return repo.insert_checkpoint(conn, size, root, ctx.now(), signed)


def _check_same_key(latest: CheckpointRow, signer: note.Signer) -> None:
    """Refuse to sign with a key other than the one that signed the log so far."""
    _, signatures = note.split_note(latest.note)
    first = signatures[0]
    if (first.name, first.key_id) != (signer.name, signer.key_id):
        raise ConflictError(
            f"the log key {signer.name}+{signer.key_id.hex()} is not the key that signed "
            f"checkpoint {latest.size} ({first.name}+{first.key_id.hex()}): point "
            "PNYX_LOG_KEY_FILE at the log's key file"
        )
