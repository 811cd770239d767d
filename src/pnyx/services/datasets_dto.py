"""Views of datasets, versions, shards, removals and shard checks."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class DatasetView(BaseModel):
    """A dataset and its newest version."""

    model_config = ConfigDict(frozen=True)
    dataset: str
    modality: str
    latest_version: int
    license: str
    records: int
    bytes: int
    created_at: str


class ShardView(BaseModel):
    """One shard of a version; ``problem`` is the last failed check, if any."""

    model_config = ConfigDict(frozen=True)
    position: int
    sha256: str
    bytes: int
    records: int
    format: str
    problem: str | None


class RemovalView(BaseModel):
    """One removed record: its hash and why (nothing else of it is kept)."""

    model_config = ConfigDict(frozen=True)
    record_sha256: str
    reason: str
    from_version: int
    to_version: int
    affected_runs: list[str]
    affected_basis: str
    removed_at: str


class DatasetVersionView(BaseModel):
    """A dataset version with its manifest, ledger binding, shards and removals."""

    model_config = ConfigDict(frozen=True)
    dataset: str
    version: int
    parent: int | None
    modality: str
    license: str
    source: str
    records: int
    bytes: int
    tokens: dict[str, int]
    metadata: dict[str, Any]
    manifest_sha256: str
    manifest_artifact: str
    ledger_seq: int
    added_by: str
    added_at: str
    shards: list[ShardView]
    removals: list[RemovalView]
    manifest: dict[str, Any]

    @property
    def ref(self) -> str:
        """``name@version``."""
        return f"{self.dataset}@{self.version}"


class ShardCheck(BaseModel):
    """The outcome of re-hashing one shard."""

    model_config = ConfigDict(frozen=True)
    position: int
    sha256: str
    ok: bool
    problem: str | None


class VerifyView(BaseModel):
    """The outcome of re-hashing every shard (and the manifest) of a version."""

    model_config = ConfigDict(frozen=True)
    dataset: str
    version: int
    ok: bool
    manifest_ok: bool
    shards: list[ShardCheck]
    recorded_failures: int


class RemovalResult(BaseModel):
    """What an opt-out did: the new version and the affected runs."""

    model_config = ConfigDict(frozen=True)
    dataset: str
    from_version: int
    to_version: int
    removed: list[str]
    reason: str
    affected_runs: list[str]
    affected_basis: str
    version: DatasetVersionView
