"""What the ledger services return; also the JSON shapes of the public log API.

Hashes are standard base64 (as in checkpoints); entries are the leaf data as UTF-8 text.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CheckpointView(BaseModel):
    """A signed checkpoint as issued (without cosignatures)."""

    model_config = ConfigDict(frozen=True)
    size: int
    root_hash: str
    issued_at: str
    note: str


class LogHeadView(BaseModel):
    """The current tree and the latest checkpoint."""

    size: int
    root_hash: str
    checkpoint: CheckpointView | None


class EntriesView(BaseModel):
    """Entries [start, end) of the log, exactly as stored."""

    start: int
    end: int
    entries: list[str]


class InclusionProofView(BaseModel):
    """RFC 9162 inclusion proof of one entry in the tree of ``size`` entries."""

    index: int
    size: int
    root_hash: str
    leaf_hash: str
    proof: list[str]


class ConsistencyProofView(BaseModel):
    """RFC 9162 consistency proof between two tree sizes."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    proof: list[str]


class WitnessView(BaseModel):
    """A registered witness."""

    model_config = ConfigDict(frozen=True)
    witness_id: str
    name: str
    verifier_key: str
    member_id: str | None
    registered_at: str


class CosignatureView(BaseModel):
    """A witness's stored cosignature of one checkpoint."""

    checkpoint_size: int
    witness_id: str
    key_id: str
    timestamp: int
    line: str
