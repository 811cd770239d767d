"""Checkpoints, proofs and entries over the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import threading

import pytest
from sqlalchemy import func, select

from pnyx.domain.identity import Actor, MemberAdmitted
from pnyx.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from pnyx.ledger import merkle, note
from pnyx.services import checkpoints, ledger
from pnyx.services.context import ServiceContext
from pnyx.services.record import record
from pnyx.store import tables as t
from pnyx.store import tables_ledger as tl
from pnyx.workers import checkpointer

SYSTEM = Actor.system()


def append(ctx: ServiceContext, count: int, *, per_transaction: int = 1) -> None:
    """Append ``count`` member admissions, ``per_transaction`` per record() call."""
    with ctx.db.read() as conn:
        first = int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)
    for start in range(first, first + count, per_transaction):
        batch = range(start, min(start + per_transaction, first + count))
        events = [MemberAdmitted(member_id=f"m{i}", name=f"Member {i}") for i in batch]
        with ctx.db.transaction() as conn:
            record(conn, ctx, SYSTEM, events)


def stored_entries(ctx: ServiceContext) -> list[bytes]:
    with ctx.db.read() as conn:
        rows = conn.execute(select(t.events.c.entry).order_by(t.events.c.seq))
        return [entry.encode() for (entry,) in rows]


def verifier(ctx: ServiceContext) -> note.Verifier:
    return note.parse_verifier_key(checkpoints.log_verifier_key(ctx))


def checkpoint_count(ctx: ServiceContext) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(tl.checkpoints)).scalar() or 0)


# --- checkpoints --------------------------------------------------------------------------


def test_record_issues_a_checkpoint_every_n_events(ctx: ServiceContext) -> None:
    ctx.checkpoint_every_events = 3
    append(ctx, 10)
    page = checkpoints.list_checkpoints(ctx)
    assert [c.size for c in page.items] == [3, 6, 9]
    leaves = stored_entries(ctx)
    for item in page.items:
        body, opened = note.open_checkpoint(item.note, [verifier(ctx)])
        assert body.origin == "pnyx.test/log"
        assert body.root_hash == merkle.root_hash(leaves[: item.size])
        assert base64.b64decode(item.root_hash) == body.root_hash
        assert opened.signatures[0].name == "pnyx.test/log"


def test_a_batch_larger_than_n_gets_one_checkpoint_at_its_end(ctx: ServiceContext) -> None:
    ctx.checkpoint_every_events = 3
    append(ctx, 7, per_transaction=7)
    append(ctx, 2, per_transaction=2)  # 9 - 7 < 3: not due
    assert [c.size for c in checkpoints.list_checkpoints(ctx).items] == [7]


def test_no_signer_means_no_checkpoints(ctx: ServiceContext) -> None:
    ctx.log_signer = None
    ctx.checkpoint_every_events = 1
    append(ctx, 3)
    assert checkpoint_count(ctx) == 0
    with pytest.raises(NotFoundError, match="no signing key"):
        checkpoints.issue_checkpoint(ctx, SYSTEM)


def test_on_demand_checkpoint_is_issued_once_per_size(ctx: ServiceContext) -> None:
    with pytest.raises(ConflictError, match="empty"):
        checkpoints.issue_checkpoint(ctx, SYSTEM)
    append(ctx, 4)
    first, created = checkpoints.issue_checkpoint(ctx, SYSTEM)
    again, created_again = checkpoints.issue_checkpoint(ctx, SYSTEM)
    assert (first.size, created, created_again) == (4, True, False)
    assert again == first
    assert checkpoint_count(ctx) == 1


def test_only_operators_issue_checkpoints_on_demand(ctx: ServiceContext) -> None:
    append(ctx, 1)
    with pytest.raises(PermissionDeniedError):
        checkpoints.issue_checkpoint(ctx, Actor.public())
    assert checkpoint_count(ctx) == 0


def test_worker_issues_only_when_the_log_grew(ctx: ServiceContext) -> None:
    assert checkpointer.run_once(ctx) is False  # empty log
    append(ctx, 2)
    assert checkpointer.run_once(ctx) is True
    assert checkpointer.run_once(ctx) is False
    append(ctx, 1)
    assert checkpointer.run_once(ctx) is True
    assert [c.size for c in checkpoints.list_checkpoints(ctx).items] == [2, 3]


def test_worker_loop_runs_until_stopped(ctx: ServiceContext) -> None:
    append(ctx, 2)
    thread, stop = checkpointer.start(ctx, interval_s=0.01)
    try:
        for _ in range(500):
            if checkpoint_count(ctx):
                break
            threading.Event().wait(0.01)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert [c.size for c in checkpoints.list_checkpoints(ctx).items] == [2]


def test_a_different_log_key_is_refused(ctx: ServiceContext) -> None:
    ctx.checkpoint_every_events = 2
    append(ctx, 2)
    ctx.log_signer = note.generate_signer("pnyx.test/log")
    append(ctx, 1)  # not due: fine
    with pytest.raises(ConflictError, match="is not the key that signed checkpoint 2"):
        append(ctx, 1)  # due: refused, and the append is rolled back with it
    assert len(stored_entries(ctx)) == 3
    with pytest.raises(ConflictError, match="PNYX_LOG_KEY_FILE"):
        checkpoints.issue_checkpoint(ctx, SYSTEM)


def test_latest_cosigned_note_is_404_before_the_first(ctx: ServiceContext) -> None:
    with pytest.raises(NotFoundError):
        checkpoints.latest_cosigned_note(ctx)
    append(ctx, 1)
    view, _ = checkpoints.issue_checkpoint(ctx, SYSTEM)
    assert checkpoints.latest_cosigned_note(ctx) == view.note


# --- proofs -------------------------------------------------------------------------------


def test_inclusion_proofs_verify_for_many_pairs(ctx: ServiceContext) -> None:
    append(ctx, 37, per_transaction=5)
    leaves = stored_entries(ctx)
    for size in (1, 2, 3, 8, 13, 32, 33, 37):
        root = merkle.root_hash(leaves[:size])
        for index in {0, size // 2, size - 1}:
            p = ledger.prove_inclusion(ctx, index=index, size=size)
            proof = [base64.b64decode(h) for h in p.proof]
            assert base64.b64decode(p.root_hash) == root
            assert base64.b64decode(p.leaf_hash) == merkle.leaf_hash(leaves[index])
            merkle.verify_inclusion(merkle.leaf_hash(leaves[index]), index, size, proof, root)


def test_consistency_proofs_verify_for_many_pairs(ctx: ServiceContext) -> None:
    append(ctx, 37, per_transaction=4)
    leaves = stored_entries(ctx)
    for old in (1, 2, 5, 8, 16, 31, 37):
        for new in {old, old + 1, 37}:
            if new > 37:
                continue
            p = ledger.prove_consistency(ctx, old, new)
            old_root, new_root = merkle.root_hash(leaves[:old]), merkle.root_hash(leaves[:new])
            assert (base64.b64decode(p.old_root), base64.b64decode(p.new_root)) == (
                old_root,
                new_root,
            )
            proof = [base64.b64decode(h) for h in p.proof]
            merkle.verify_consistency(old, new, old_root, new_root, proof)


def test_proof_size_defaults_to_the_latest_checkpoint(ctx: ServiceContext) -> None:
    append(ctx, 5)
    assert ledger.prove_inclusion(ctx, index=0).size == 5  # no checkpoint: the tree size
    checkpoints.issue_checkpoint(ctx, SYSTEM)
    append(ctx, 3)
    assert ledger.prove_inclusion(ctx, index=0).size == 5
    assert ledger.prove_consistency(ctx, 2).new_size == 5
    with pytest.raises(InvalidInputError, match="out of range"):
        ledger.prove_inclusion(ctx, index=5)  # beyond the checkpoint


def test_inclusion_proof_by_leaf_hash(ctx: ServiceContext) -> None:
    append(ctx, 9)
    leaves = stored_entries(ctx)
    wanted = base64.b64encode(merkle.leaf_hash(leaves[6])).decode()
    p = ledger.prove_inclusion(ctx, leaf_hash=wanted)
    assert (p.index, p.size, p.leaf_hash) == (6, 9, wanted)
    with pytest.raises(NotFoundError, match="no entry with leaf hash"):
        ledger.prove_inclusion(ctx, leaf_hash=wanted, size=6)
    with pytest.raises(NotFoundError):
        ledger.prove_inclusion(ctx, leaf_hash=base64.b64encode(bytes(32)).decode())
    with pytest.raises(InvalidInputError, match="exactly one"):
        ledger.prove_inclusion(ctx, index=1, leaf_hash=wanted)
    with pytest.raises(InvalidInputError, match="expected 32"):
        ledger.prove_inclusion(ctx, leaf_hash="AAAA")


def test_proofs_refuse_sizes_beyond_the_log(ctx: ServiceContext) -> None:
    append(ctx, 3)
    with pytest.raises(InvalidInputError, match="out of range"):
        ledger.prove_inclusion(ctx, index=0, size=4)
    with pytest.raises(InvalidInputError):
        ledger.prove_consistency(ctx, 2, 4)
    with pytest.raises(InvalidInputError):
        ledger.prove_consistency(ctx, 3, 2)


# --- entries ------------------------------------------------------------------------------


def test_entries_are_returned_as_stored_and_clamped(ctx: ServiceContext) -> None:
    append(ctx, 1005, per_transaction=1005)
    leaves = stored_entries(ctx)
    page = ledger.read_entries(ctx, 3, 7)
    assert (page.start, page.end) == (3, 7)
    assert [e.encode() for e in page.entries] == leaves[3:7]
    assert ledger.read_entries(ctx, 0).end == 1000  # at most 1000 per call
    assert ledger.read_entries(ctx, 2, 5000).end == 1002
    assert ledger.read_entries(ctx, 1000, 2000).end == 1005  # clamped to the log
    assert ledger.read_entries(ctx, 1005).entries == []
    with pytest.raises(InvalidInputError, match="outside the log"):
        ledger.read_entries(ctx, 1006)
    with pytest.raises(InvalidInputError, match="greater than start"):
        ledger.read_entries(ctx, 5, 5)
