"""Migration 0006 keeps a log written before it: leaf keys filled in, lookups by hash work."""

from __future__ import annotations

import base64

from alembic import command
from sqlalchemy import text

from pnyx.domain.identity import MemberAdmitted
from pnyx.ledger import merkle
from pnyx.ledger.merkle import leaf_hash
from pnyx.services import ledger
from pnyx.services.context import ServiceContext
from pnyx.store.db import Database
from pnyx.store.eventstore import append_events, leaf_key
from pnyx.store.schema import alembic_config, migrate


def test_upgrade_from_0005_keeps_proofs_and_lookup_by_hash(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0005")
            entries = [f'{{"seq":{i},"x":"old entry {i}"}}'.encode() for i in range(5)]
            hashes = [leaf_hash(e) for e in entries]
            conn.execute(
                text(
                    "INSERT INTO events (seq, at, actor, kind, version, visibility, entry,"
                    " leaf_hash) VALUES (:s, 'now', 'system', 'k', 1, 'public', :e, :h)"
                ),
                [
                    {"s": i, "e": e.decode(), "h": h}
                    for i, (e, h) in enumerate(zip(entries, hashes, strict=True))
                ],
            )
            created: list[merkle.NodeRow] = []  # the tree as 0005 kept it: every level
            root = merkle.root_from_frontier(merkle.extend_frontier([], 0, hashes, created))
            conn.execute(
                text("INSERT INTO tree_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
                [{"l": lv, "i": ix, "h": h} for lv, ix, h in created],
            )
            conn.execute(
                text("INSERT INTO log_state (id, size, root_hash) VALUES (1, 5, :r)"), {"r": root}
            )
        migrate(db)
        with db.read() as conn:
            keys = conn.execute(text("SELECT seq, leaf_key FROM events ORDER BY seq")).all()
            levels = conn.execute(text("SELECT DISTINCT level FROM tree_nodes")).scalars().all()
        assert [k for _, k in keys] == [leaf_key(i, h) for i, h in enumerate(hashes)]
        assert sorted(levels) == [2]  # level 0 is events.leaf_hash; odd levels are derived
        ctx = ServiceContext(db=db)
        proof = ledger.prove_inclusion(ctx, leaf_hash=base64.b64encode(hashes[3]).decode())
        assert (proof.index, proof.size) == (3, 5)
        merkle.verify_inclusion(hashes[3], 3, 5, [base64.b64decode(h) for h in proof.proof], root)
        with db.transaction() as conn:  # the new write path appends after the migrated rows
            append_events(conn, [MemberAdmitted("m1", "One")], actor="system", at="now")
        assert ledger.log_head(ctx).size == 6
    finally:
        db.dispose()
