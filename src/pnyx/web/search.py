"""Portal page "Search the training data": exact counts and located hits with snippets.

A plain GET form (works without JavaScript). Errors of the query (empty, too long, unknown
dataset, missing or stale index) are shown on the page, not as an error page.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from pnyx.data.remote_store import open_artifact_store
from pnyx.errors import PnyxError
from pnyx.services import search
from pnyx.services.search_dto import LocateView
from pnyx.web.routes import Ctx, render

router = APIRouter(include_in_schema=False)
PAGE_HITS = 20


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    ctx: Ctx,
    dataset: Annotated[str, Query(max_length=80)] = "",
    q: Annotated[str | None, Query(max_length=2**20 + 1)] = None,
) -> HTMLResponse:
    """The search form; with ``dataset`` and ``q``, the count and the first hits."""
    indexed = search.indexed_versions(ctx)
    if not dataset and indexed:
        dataset = f"{indexed[-1].dataset}@{indexed[-1].version}"
    result: LocateView | None = None
    error = None
    if q is not None:
        settings = request.app.state.settings
        store = open_artifact_store(settings.artifacts_root, settings.artifacts_url)
        try:
            result = search.locate(ctx, store, dataset, q, PAGE_HITS)
        except PnyxError as e:
            error = str(e)
    api = "/api/v1/search"
    return render(
        "search.html",
        active="/search",
        indexed=indexed,
        dataset=dataset,
        q=q or "",
        result=result,
        error=error,
        api=api,
        runs_link=lambda doc: (
            f"{api}/training-use?" + urlencode({"dataset": dataset, "document": doc})
        ),
    )
