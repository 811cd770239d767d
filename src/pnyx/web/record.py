"""The portal's Record page: the latest checkpoint, its witnesses, and one entry's inclusion
proof, verified on the server and (with record.js) again in the reader's browser."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from pnyx.errors import InvalidInputError, PnyxError
from pnyx.services import record_view
from pnyx.services.record_view import EntryCheck
from pnyx.web.routes import Ctx, member_names, render

router = APIRouter(include_in_schema=False)


@router.get("/record", response_class=HTMLResponse)
def record_page(
    ctx: Ctx,
    entry: Annotated[str | None, Query(max_length=20)] = None,
    leaf_hash: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """The latest checkpoint, the log key, the witnesses; with ``entry`` (a number) or
    ``leaf_hash`` (base64), that entry with its inclusion proof and the server's check."""
    head = record_view.record_head(ctx)
    entry = (entry or "").strip() or None
    leaf_hash = (leaf_hash or "").strip() or None
    check: EntryCheck | None = None
    error: str | None = None
    status = 200
    if entry is not None or leaf_hash is not None:
        try:
            check = _lookup(ctx, entry, leaf_hash)
        except PnyxError as e:
            error, status = str(e), e.http_status
    return render(
        "record.html",
        status,
        active="/record",
        head=head,
        members=member_names(ctx),
        entry=entry or "",
        leaf_hash=leaf_hash or "",
        check=check,
        error=error,
    )


def _lookup(ctx: Ctx, entry: str | None, leaf_hash: str | None) -> EntryCheck:
    if entry is not None and leaf_hash is not None:
        raise InvalidInputError("give an entry number or a leaf hash, not both")
    if entry is None:
        return record_view.check_entry(ctx, leaf_hash=leaf_hash)
    if not (entry.isascii() and entry.isdigit()):
        raise InvalidInputError(
            f"entry {entry!r} is not an entry number: give a whole number, 0 or more"
        )
    return record_view.check_entry(ctx, index=int(entry))
