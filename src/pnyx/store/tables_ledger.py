"""Tables about the log itself: signed checkpoints, witness cosignatures, registered witnesses.

Checkpoints and cosignatures are marked ``log``: they are not rebuilt by replay (they are
statements *about* the event log, not state derived from it). Witnesses are registered by an
event and are an ordinary projection.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, LargeBinary, String, Table, Text

from pnyx.store.tables import SEQ, metadata

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("size", BigInteger, nullable=False, unique=True),  # never two for one size
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("issued_at", String(32), nullable=False),
    Column("note", Text, nullable=False),  # the signed note, as issued
)

cosignatures = Table(
    "cosignatures",
    metadata,
    Column("checkpoint_id", SEQ, ForeignKey("checkpoints.id"), primary_key=True),
    Column("witness_id", String(64), primary_key=True),  # no FK: witnesses is a projection
    Column("key_id", String(8), nullable=False),  # hex of the 4-byte note key id
    Column("timestamp", BigInteger, nullable=False),  # POSIX seconds, from the cosignature
    Column("line", Text, nullable=False),  # the signature line, newline included
)

for _log_table in (checkpoints, cosignatures):
    _log_table.info["log"] = True

# --- projection: witnesses --------------------------------------------------------------------

witnesses = Table(
    "witnesses",
    metadata,
    Column("witness_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("key_name", String(200), nullable=False, index=True),
    Column("key_id", String(8), nullable=False),
    Column("verifier_key", String(300), nullable=False, unique=True),
    Column("member_id", String(64), nullable=True),
    Column("registered_at", String(32), nullable=False),
    Column("registered_seq", BigInteger, nullable=False),
)
