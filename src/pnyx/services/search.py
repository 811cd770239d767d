"""Use cases of training-data search: build a version's index, count, locate, training use.

Indexes are served only through what the ledger recorded: the ``dataset.index_built`` event of
each shard of the version names the index hash; the index is opened from the artifact store
after its files are hash-checked, and only when it was built from the version's shard bytes for
the version's manifest. Anything else (missing, rebuilt elsewhere, changed bytes) is an error
naming the shard, and nothing is served.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.search.build import build_shard_index
from pnyx.data.search.index import ShardIndex, open_index, read_index_manifest
from pnyx.data.search.layout import IndexManifest
from pnyx.data.search.order import steps_seeing
from pnyx.data.search.query import (
    Hit,
    VersionIndex,
    check_limit,
    check_version_index,
    count_version,
    encode_query,
    locate_version,
)
from pnyx.domain import search as dom
from pnyx.domain.datasets import parse_ref
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.errors import InvalidInputError, NotFoundError, PnyxError
from pnyx.services.context import ServiceContext
from pnyx.services.record import record
from pnyx.services.runs import runs_using_dataset
from pnyx.services.search_dto import (
    CountView,
    HitView,
    IndexBuildView,
    IndexedVersionView,
    LocateView,
    ShardIndexView,
    TrainingUseView,
)
from pnyx.store import datasets_repo, search_repo

TEXT_MODALITIES = ("text", "code")
Progress = Callable[[int, int, ShardIndexView], None]  # (shards done, shards total, last shard)


@dataclass(frozen=True)
class Version:
    """A dataset version as search needs it."""

    dataset: str
    version: int
    manifest_sha256: str
    manifest_text: str
    added_seq: int
    manifest: dict[str, Any]

    @property
    def shard_hashes(self) -> list[str]:
        """Shard hashes in manifest order."""
        return [s["sha256"] for s in self.manifest["shards"]]


def resolve_version(conn: Connection, ref: str) -> Version:
    """``NAME`` (latest) or ``NAME@VERSION``; NotFoundError naming what is unknown."""
    name, number = parse_ref(ref)
    if number is None:
        row = datasets_repo.dataset_row(conn, name)
        if row is None:
            raise NotFoundError(f"unknown dataset {name!r}")
        number = int(row["latest_version"])
    vrow = datasets_repo.version_row(conn, name, number)
    if vrow is None:
        known = datasets_repo.dataset_row(conn, name) is not None
        what = f"{name} has no version {number}" if known else f"unknown dataset {name!r}"
        raise NotFoundError(what)
    manifest = json.loads(vrow["manifest"])
    return Version(
        name, number, vrow["manifest_sha256"], vrow["manifest"], int(vrow["added_seq"]), manifest
    )


# --- build ----------------------------------------------------------------------------------


def build_index(
    ctx: ServiceContext,
    actor: Actor,
    store: ArtifactStore,
    ref: str,
    progress: Progress | None = None,
) -> IndexBuildView:
    """Index every shard of a text/code version that has no current index (operators).

    Resumable: each shard is recorded in its own transaction as soon as it is built; a shard
    whose bytes were indexed before (another version) reuses that index after a hash check.
    """
    require_role(actor, Role.OPERATOR)
    with ctx.db.read() as conn:
        version = resolve_version(conn, ref)
        recorded = search_repo.shard_indexes(conn, version.dataset, version.version)
    if version.manifest["modality"] not in TEXT_MODALITIES:
        raise InvalidInputError(
            f"{version.dataset}@{version.version} is {version.manifest['modality']}: "
            "only text and code versions can be searched"
        )
    todo = set(dom.shards_to_build(version.shard_hashes, recorded, version.manifest_sha256))
    views: list[ShardIndexView] = []
    total = len(version.shard_hashes)
    for number, sha in enumerate(version.shard_hashes):
        ref_ = recorded.get(number)
        if number not in todo and ref_ is not None and _usable(store, ref_.index_sha256):
            manifest = read_index_manifest(store, ref_.index_sha256)
            views.append(_shard_view(number, ref_.index_sha256, manifest, "recorded"))
        else:
            views.append(_index_shard(ctx, actor, store, version, number, sha))
        if progress is not None:
            progress(len(views), total, views[-1])
    return IndexBuildView(
        dataset=version.dataset,
        version=version.version,
        manifest_sha256=version.manifest_sha256,
        shards=views,
        documents=sum(v.documents for v in views),
        text_bytes=sum(v.text_bytes for v in views),
        index_bytes=sum(v.index_bytes for v in views),
    )


def _usable(store: ArtifactStore, index_sha256: str) -> bool:
    try:
        open_index(store, index_sha256)
    except PnyxError:
        return False
    return True


def _index_shard(
    ctx: ServiceContext, actor: Actor, store: ArtifactStore, version: Version, number: int, sha: str
) -> ShardIndexView:
    with ctx.db.read() as conn:
        previous = search_repo.index_for_shard(conn, sha)
    if previous is not None and _usable(store, previous[0]):
        index_sha, status = previous[0], "reused"
        manifest = read_index_manifest(store, index_sha)
    else:
        built = build_shard_index(store, store.read(sha), sha)  # read() refuses a changed shard
        index_sha, manifest, status = built.index_sha256, built.manifest, "built"
    event = dom.DatasetIndexBuilt(
        dataset=version.dataset,
        version=version.version,
        manifest_sha256=version.manifest_sha256,
        shard=number,
        shard_sha256=sha,
        index_sha256=index_sha,
        line_root=manifest.line_root,
        documents=manifest.records,
        text_bytes=manifest.text.bytes - manifest.records,
        index_bytes=manifest.index_bytes(),
    )
    with ctx.db.transaction() as conn:
        record(conn, ctx, actor, [event])
    return _shard_view(number, index_sha, manifest, status)


def _shard_view(
    number: int, index_sha: str, manifest: IndexManifest, status: str
) -> ShardIndexView:
    return ShardIndexView(
        shard=number,
        shard_sha256=manifest.shard_sha256,
        index_sha256=index_sha,
        documents=manifest.records,
        text_bytes=manifest.text.bytes - manifest.records,
        index_bytes=manifest.index_bytes(),
        status=status,
    )


# --- queries --------------------------------------------------------------------------------


def open_version(
    ctx: ServiceContext, store: ArtifactStore, ref: str
) -> tuple[Version, VersionIndex]:
    """The version and its indexes, each checked against the record and its own hashes."""
    with ctx.db.read() as conn:
        version = resolve_version(conn, ref)
        recorded = search_repo.shard_indexes(conn, version.dataset, version.version)
    refs = dom.check_complete(
        version.dataset, version.version, version.shard_hashes, recorded, version.manifest_sha256
    )
    shards: list[ShardIndex] = [open_index(store, r.index_sha256) for r in refs]
    offsets, first = [], 0
    for entry in version.manifest["shards"]:
        offsets.append(first)
        first += int(entry["records"])
    index = VersionIndex(shards, offsets)
    check_version_index(index, version.shard_hashes)
    return version, index


def count(ctx: ServiceContext, store: ArtifactStore, ref: str, query: str) -> CountView:
    """Exact count of ``query`` in ``ref`` (public)."""
    pattern = encode_query(query)
    version, index = open_version(ctx, store, ref)
    total, per_shard = count_version(index, pattern)
    return CountView(
        dataset=version.dataset,
        version=version.version,
        query_bytes=len(pattern),
        count=total,
        shard_counts=per_shard,
        indexes=[s.index_sha256 for s in index.shards],
    )


def locate(
    ctx: ServiceContext, store: ArtifactStore, ref: str, query: str, limit: int = 10
) -> LocateView:
    """Up to ``limit`` occurrences of ``query`` with snippets, and the total count (public)."""
    pattern = encode_query(query)
    check_limit(limit)
    version, index = open_version(ctx, store, ref)
    total, _ = count_version(index, pattern)
    hits = [hit_view(h) for h in locate_version(index, pattern, limit)]
    return LocateView(
        dataset=version.dataset,
        version=version.version,
        query_bytes=len(pattern),
        count=total,
        limit=limit,
        hits=hits,
    )


def hit_view(hit: Hit) -> HitView:
    """The view of a located hit."""
    return HitView(
        shard=hit.shard,
        shard_sha256=hit.shard_sha256,
        doc=hit.doc,
        global_doc=hit.global_doc,
        doc_id=hit.doc_id,
        record_sha256=hit.record_sha256,
        offset=hit.offset,
        before=hit.snippet.before,
        match=hit.snippet.match,
        after=hit.snippet.after,
    )


def indexed_versions(ctx: ServiceContext) -> list[IndexedVersionView]:
    """Dataset versions with a recorded index (public)."""
    with ctx.db.read() as conn:
        return [IndexedVersionView(**row) for row in search_repo.indexed_versions(conn)]


def training_use(
    ctx: ServiceContext, store: ArtifactStore, ref: str, global_doc: int
) -> list[TrainingUseView]:
    """The runs that trained on ``ref`` and the steps at which they saw document
    ``global_doc`` (its global index: manifest shard order, then line order), read from each
    run's order file in the artifact store (public)."""
    with ctx.db.read() as conn:
        version = resolve_version(conn, ref)
    records = int(version.manifest["records"])
    if not 0 <= global_doc < records:
        raise InvalidInputError(f"document {global_doc} is outside 0..{records - 1}")
    out = []
    for run in runs_using_dataset(ctx, version.dataset, version.version):
        steps: list[int] | None = None
        note = None
        try:
            order = store.read(run.order_sha256)
            steps = steps_seeing(order, version.dataset, version.version, global_doc)
        except PnyxError as e:
            note = f"order file {run.order_sha256} not readable here: {e}"
        out.append(TrainingUseView(run_id=run.run_id, order_sha256=run.order_sha256,
                                   steps=steps, note=note))  # fmt: skip
    return out
