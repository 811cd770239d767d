"""Projectors for dataset versions, opt-out removals and failed shard checks."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from pnyx.domain import datasets as d
from pnyx.domain.events import Event, canonical_json
from pnyx.store import tables_datasets as td
from pnyx.store.eventstore import RecordedEvent
from pnyx.store.projection import projects


@projects(d.DatasetVersionAdded)
def _version_added(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.DatasetVersionAdded)
    m = ev.manifest
    exists = conn.execute(
        select(td.datasets.c.dataset).where(td.datasets.c.dataset == ev.dataset)
    ).first()
    if exists:
        conn.execute(
            update(td.datasets)
            .where(td.datasets.c.dataset == ev.dataset)
            .values(latest_version=ev.version)
        )
    else:
        conn.execute(
            td.datasets.insert().values(
                dataset=ev.dataset,
                modality=m["modality"],
                latest_version=ev.version,
                created_at=rec.at,
                created_seq=rec.seq,
            )
        )
    conn.execute(
        td.dataset_versions.insert().values(
            dataset=ev.dataset,
            version=ev.version,
            parent=ev.parent,
            modality=m["modality"],
            license=m["license"],
            source=m["source"],
            manifest_sha256=ev.manifest_sha256,
            manifest_artifact=ev.manifest_artifact,
            manifest=canonical_json(m).decode(),
            records=m["records"],
            bytes=m["bytes"],
            shard_count=len(m["shards"]),
            added_by=rec.actor,
            added_at=rec.at,
            added_seq=rec.seq,
        )
    )
    rows = [
        {"dataset": ev.dataset, "version": ev.version, "position": i, "sha256": s["sha256"],
         "bytes": s["bytes"], "records": s["records"], "format": s["format"],
         "problem": None, "checked_seq": None}
        for i, s in enumerate(m["shards"])
    ]  # fmt: skip
    if rows:
        conn.execute(td.dataset_shards.insert(), rows)


@projects(d.DatasetRecordsRemoved)
def _records_removed(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.DatasetRecordsRemoved)
    runs = canonical_json(ev.affected_runs).decode()
    rows = [
        {"dataset": ev.dataset, "to_version": ev.to_version, "record_sha256": r["sha256"],
         "from_version": ev.from_version, "reason": r["reason"], "affected_runs": runs,
         "affected_basis": ev.affected_basis, "removed_at": rec.at, "removed_seq": rec.seq}
        for r in ev.removed
    ]  # fmt: skip
    conn.execute(td.dataset_removals.insert(), rows)


@projects(d.DatasetShardCheckFailed)
def _shard_check_failed(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.DatasetShardCheckFailed)
    conn.execute(
        update(td.dataset_shards)
        .where(
            td.dataset_shards.c.dataset == ev.dataset,
            td.dataset_shards.c.version == ev.version,
            td.dataset_shards.c.sha256 == ev.shard_sha256,
        )
        .values(problem=ev.problem, checked_seq=rec.seq)
    )
