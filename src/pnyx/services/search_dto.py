"""Views of training-data search: index builds, counts, located hits, training use."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ShardIndexView(BaseModel):
    """One shard's index; ``status``: built now, reused (same shard bytes), or already recorded."""

    model_config = ConfigDict(frozen=True)
    shard: int
    shard_sha256: str
    index_sha256: str
    documents: int
    text_bytes: int
    index_bytes: int
    status: str


class IndexBuildView(BaseModel):
    """The index of a dataset version after ``pnyx data index``."""

    model_config = ConfigDict(frozen=True)
    dataset: str
    version: int
    manifest_sha256: str
    shards: list[ShardIndexView]
    documents: int
    text_bytes: int
    index_bytes: int


class CountView(BaseModel):
    """Exact, overlapping occurrences of the query inside documents of a version."""

    model_config = ConfigDict(frozen=True)
    dataset: str
    version: int
    query_bytes: int
    count: int
    shard_counts: list[int]
    indexes: list[str]


class HitView(BaseModel):
    """One occurrence: where it is and the text around it."""

    model_config = ConfigDict(frozen=True)
    shard: int
    shard_sha256: str
    doc: int
    global_doc: int
    doc_id: str
    record_sha256: str
    offset: int
    before: str
    match: str
    after: str


class LocateView(BaseModel):
    """Occurrences of the query (up to ``limit``) and the total count."""

    model_config = ConfigDict(frozen=True)
    dataset: str
    version: int
    query_bytes: int
    count: int
    limit: int
    hits: list[HitView]


class TrainingUseView(BaseModel):
    """A run that trained on the version, and the steps at which it saw one document.

    ``steps`` is None when the run's order file could not be read here (``note`` says why).
    """

    model_config = ConfigDict(frozen=True)
    run_id: str
    order_sha256: str
    steps: list[int] | None
    note: str | None = None


class IndexedVersionView(BaseModel):
    """A dataset version that has a search index."""

    model_config = ConfigDict(frozen=True)
    dataset: str
    version: int
    shards: int
    documents: int
    text_bytes: int
    index_bytes: int
