"""Use cases for datasets: add a version, list, show, verify shards, opt-out removal, Croissant.

Files are read and the draft version built before any write; then the shards and the manifest
are stored as artifacts and ONE transaction records ``dataset.version_added`` (and, for an
opt-out, ``dataset.records_removed``). Every read of shard bytes goes through
:meth:`ArtifactStore.read`, which refuses bytes that no longer match their hash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from pnyx.data.artifacts import ArtifactIntegrityError, ArtifactStore
from pnyx.data.croissant import render_croissant
from pnyx.data.ingest import (
    SHARD_LIMIT_BYTES,
    VersionDraft,
    check_modality,
    draft_removal,
    draft_version,
    item_hash,
    read_items,
)
from pnyx.data.manifest import check_name, manifest_bytes
from pnyx.domain import datasets as d
from pnyx.domain.events import Event
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.errors import InvalidInputError, NotFoundError
from pnyx.services.context import ServiceContext
from pnyx.services.datasets_dto import (
    DatasetVersionView,
    DatasetView,
    RemovalResult,
    RemovalView,
    ShardCheck,
    ShardView,
    VerifyView,
)
from pnyx.services.record import record
from pnyx.store import datasets_repo as repo


def add_version(
    ctx: ServiceContext,
    actor: Actor,
    artifacts: ArtifactStore,
    name: str,
    path: Path,
    modality: str,
    license_id: str,
    source: str,
    shard_limit_bytes: int = SHARD_LIMIT_BYTES,
) -> DatasetVersionView:
    """Ingest the files under ``path`` as the next version of ``name`` (operators, researchers).

    Records removed from the dataset earlier (opt-outs) stay out of the new version.
    """
    require_role(actor, Role.OPERATOR, Role.RESEARCHER)
    check_name(name)
    check_modality(modality)
    license_id = d.check_license(license_id)
    if not source.strip():
        raise InvalidInputError("--source must say where the data comes from")
    with ctx.db.read() as conn:
        latest = _latest_manifest(conn, name)
    if latest is not None and latest["modality"] != modality:
        raise InvalidInputError(
            f"dataset {name} holds {latest['modality']}, not {modality}: use another name"
        )
    removed = list(latest["removed"]) if latest else []
    gone = {r["sha256"] for r in removed}
    items = [i for i in read_items(path, modality, source) if item_hash(i) not in gone]
    if not items:
        raise InvalidInputError(f"every record under {path} was removed from {name} earlier")
    version = latest["version"] + 1 if latest else 1
    parent = latest["version"] if latest else None
    draft = draft_version(
        name, version, parent, modality, license_id, source, items, removed, shard_limit_bytes
    )
    return _store_and_record(ctx, actor, artifacts, draft, None)


def _store_and_record(
    ctx: ServiceContext,
    actor: Actor,
    artifacts: ArtifactStore,
    draft: VersionDraft,
    removal: tuple[dict[str, Any], list[dict[str, str]], str, list[str], str] | None,
) -> DatasetVersionView:
    manifest = draft.manifest
    for blob in draft.shards:
        artifacts.put_bytes(blob)
    manifest_artifact = artifacts.put_bytes(manifest_bytes(manifest))
    with ctx.db.transaction() as conn:
        current = repo.dataset_row(conn, manifest["dataset"])
        latest_version = current["latest_version"] if current else None
        events: list[Event] = [d.decide_add_version(manifest, manifest_artifact, latest_version)]
        if removal is not None:
            parent, removed, reason, runs, basis = removal
            events.append(d.decide_removal(parent, manifest, removed, reason, runs, basis))
        record(conn, ctx, actor, events)
        return _version_view(conn, manifest["dataset"], manifest["version"])


def _latest_manifest(conn: Connection, name: str) -> dict[str, Any] | None:
    row = repo.dataset_row(conn, name)
    if row is None:
        return None
    version = repo.version_row(conn, name, row["latest_version"])
    assert version is not None
    manifest: dict[str, Any] = json.loads(version["manifest"])
    return manifest


def list_datasets(ctx: ServiceContext) -> list[DatasetView]:
    """Every dataset with its newest version's licence and size (public)."""
    out: list[DatasetView] = []
    with ctx.db.read() as conn:
        for row in repo.dataset_rows(conn):
            v = repo.version_row(conn, row["dataset"], row["latest_version"])
            assert v is not None
            out.append(
                DatasetView(
                    dataset=row["dataset"],
                    modality=row["modality"],
                    latest_version=row["latest_version"],
                    license=v["license"],
                    records=v["records"],
                    bytes=v["bytes"],
                    created_at=row["created_at"],
                )
            )
    return out


def list_versions(ctx: ServiceContext, name: str) -> list[DatasetVersionView]:
    """Every version of a dataset, oldest first (public)."""
    with ctx.db.read() as conn:
        rows = repo.version_rows(conn, name)
        if not rows:
            raise NotFoundError(f"dataset {name!r} does not exist")
        return [_version_view(conn, name, r["version"]) for r in rows]


def get_version(ctx: ServiceContext, name: str, version: int | None = None) -> DatasetVersionView:
    """One version (default: the newest) with manifest, shards and removals (public)."""
    with ctx.db.read() as conn:
        return _version_view(conn, name, _resolve(conn, name, version))


def _resolve(conn: Connection, name: str, version: int | None) -> int:
    row = repo.dataset_row(conn, name)
    if row is None:
        raise NotFoundError(f"dataset {name!r} does not exist")
    if version is None:
        return int(row["latest_version"])
    if repo.version_row(conn, name, version) is None:
        raise NotFoundError(
            f"dataset {name!r} has no version {version} (latest is {row['latest_version']})"
        )
    return version


def _version_view(conn: Connection, name: str, version: int) -> DatasetVersionView:
    row = repo.version_row(conn, name, version)
    if row is None:
        raise NotFoundError(f"dataset {name!r} has no version {version}")
    manifest = json.loads(row["manifest"])
    shards = [ShardView(**{k: s[k] for k in ShardView.model_fields}) for s in
              repo.shard_rows(conn, name, version)]  # fmt: skip
    removals = [_removal_view(r) for r in repo.removal_rows(conn, name, version)]
    return DatasetVersionView(
        dataset=name, version=version, parent=row["parent"], modality=row["modality"],
        license=row["license"], source=row["source"], records=row["records"],
        bytes=row["bytes"], tokens=manifest["tokens"], metadata=manifest["metadata"],
        manifest_sha256=row["manifest_sha256"], manifest_artifact=row["manifest_artifact"],
        ledger_seq=row["added_seq"], added_by=row["added_by"], added_at=row["added_at"],
        shards=shards, removals=removals, manifest=manifest,
    )  # fmt: skip


def _removal_view(r: dict[str, Any]) -> RemovalView:
    return RemovalView(
        record_sha256=r["record_sha256"], reason=r["reason"], from_version=r["from_version"],
        to_version=r["to_version"], affected_runs=json.loads(r["affected_runs"]),
        affected_basis=r["affected_basis"], removed_at=r["removed_at"],
    )  # fmt: skip


def verify_version(
    ctx: ServiceContext, actor: Actor, artifacts: ArtifactStore, name: str, version: int | None
) -> VerifyView:
    """Re-hash every shard and the manifest of a version; record each newly failed shard as a
    ``dataset.shard_check_failed`` event (operators)."""
    require_role(actor, Role.OPERATOR)
    view = get_version(ctx, name, version)
    checks = [
        ShardCheck(position=s.position, sha256=s.sha256, ok=problem is None, problem=problem)
        for s in view.shards
        for problem in [artifacts.verify(s.sha256)]
    ]
    manifest_ok = artifacts.verify(view.manifest_artifact) is None
    fresh = [c for c, s in zip(checks, view.shards, strict=True) if c.problem != s.problem]
    events = [
        d.DatasetShardCheckFailed(name, view.version, c.sha256, c.problem)
        for c in fresh
        if c.problem is not None
    ]
    if events:
        with ctx.db.transaction() as conn:
            record(conn, ctx, actor, events)
    return VerifyView(
        dataset=name, version=view.version, manifest_ok=manifest_ok, shards=checks,
        ok=manifest_ok and all(c.ok for c in checks), recorded_failures=len(events),
    )  # fmt: skip


def read_shard(
    ctx: ServiceContext, artifacts: ArtifactStore, name: str, version: int, sha256: str
) -> bytes:
    """A shard's bytes, checked against its hash; a tampered shard is recorded and refused."""
    view = get_version(ctx, name, version)
    if sha256 not in {s.sha256 for s in view.shards}:
        raise NotFoundError(f"{name}@{version} has no shard {sha256}")
    try:
        return artifacts.read(sha256)
    except ArtifactIntegrityError as e:
        problem = f"corrupt: bytes hash to {e.actual}"
        shard = next(s for s in view.shards if s.sha256 == sha256)
        if shard.problem != problem:
            with ctx.db.transaction() as conn:
                event = d.DatasetShardCheckFailed(name, view.version, sha256, problem)
                record(conn, ctx, Actor.system(), [event])
        raise


def croissant(
    ctx: ServiceContext, name: str, version: int | None, base_url: str = ""
) -> dict[str, Any]:
    """The Croissant 1.0 JSON-LD description of a version (public)."""
    view = get_version(ctx, name, version)
    return render_croissant(view.manifest, view.manifest_sha256, base_url)


def remove_records(
    ctx: ServiceContext,
    actor: Actor,
    artifacts: ArtifactStore,
    name: str,
    record_hashes: list[str],
    source_urls: list[str],
    reason: str,
) -> RemovalResult:
    """Opt-out: a new version of ``name`` without the matching records (operators).

    The ledger keeps only the removed records' hashes and the reason. Runs that used the old
    version are listed as affected (``pnyx.services.runs.runs_using_dataset``).
    """
    require_role(actor, Role.OPERATOR)
    with ctx.db.read() as conn:
        parent = _latest_manifest(conn, name)
    if parent is None:
        raise NotFoundError(f"dataset {name!r} does not exist")
    draft, removed = draft_removal(
        artifacts, parent, parent["version"] + 1, record_hashes, source_urls, reason
    )
    runs, basis = affected_runs(ctx, name, parent["version"])
    removal = (parent, removed, reason, runs, basis)
    view = _store_and_record(ctx, actor, artifacts, draft, removal)
    return RemovalResult(
        dataset=name, from_version=parent["version"], to_version=view.version,
        removed=[r["sha256"] for r in removed], reason=reason, affected_runs=runs,
        affected_basis=basis, version=view,
    )  # fmt: skip


def affected_runs(ctx: ServiceContext, name: str, version: int) -> tuple[list[str], str]:
    """(ids of the runs that trained on ``name@version``, "runs")."""
    from pnyx.services.runs import runs_using_dataset

    return sorted(r.run_id for r in runs_using_dataset(ctx, name, version)), "runs"
