"""Training-data search: count, locate (with training use) and proofs over dataset versions.

Queries travel in a JSON body (up to 1 MiB of text does not fit a URL). Reads are public; a
proof may issue a log checkpoint so that it covers the entries it cites.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from pnyx.api.deps import Ctx
from pnyx.api.routes.datasets import Artifacts
from pnyx.api.schemas import Body
from pnyx.services import search, search_proof
from pnyx.services.search_dto import CountView, IndexedVersionView, LocateView, TrainingUseView

router = APIRouter(prefix="/api/v1/search", tags=["search"])
MAX_QUERY_CHARS = 2**20  # the service refuses more than 1 MiB of UTF-8 with a clear message


class QueryIn(Body):
    """A search: the dataset (NAME or NAME@VERSION) and the exact text."""

    dataset: str = Field(min_length=1, max_length=80)
    query: str = Field(max_length=MAX_QUERY_CHARS + 1)


class LocateIn(QueryIn):
    """A locate: also how many occurrences to return."""

    limit: int = 10


@router.get("/indexes")
def list_indexes(ctx: Ctx) -> list[IndexedVersionView]:
    """Dataset versions that have a search index."""
    return search.indexed_versions(ctx)


@router.post("/count")
def count(body: QueryIn, ctx: Ctx, artifacts: Artifacts) -> CountView:
    """Exact, overlapping occurrences of the text inside documents of the version."""
    return search.count(ctx, artifacts, body.dataset, body.query)


@router.post("/locate")
def locate(body: LocateIn, ctx: Ctx, artifacts: Artifacts) -> LocateView:
    """Occurrences with document id, byte offset, shard hash and snippet."""
    return search.locate(ctx, artifacts, body.dataset, body.query, body.limit)


@router.post("/prove")
def prove(body: QueryIn, ctx: Ctx, artifacts: Artifacts) -> dict[str, Any]:
    """A proof of the answer that `pnyx data verify-proof` checks offline."""
    return search_proof.prove(ctx, artifacts, body.dataset, body.query)


@router.get("/training-use")
def training_use(
    dataset: str, document: int, ctx: Ctx, artifacts: Artifacts
) -> list[TrainingUseView]:
    """Runs that trained on the version and the steps at which they saw document ``document``
    (its global index)."""
    return search.training_use(ctx, artifacts, dataset, document)
