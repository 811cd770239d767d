"""Portal pages of the Council: resolutions, live tallies, signed ballots, recount."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from pnyx.services import council_read
from pnyx.services.council_verify import ALL, recount
from pnyx.services.logsources import DbLogSource
from pnyx.web.routes import Ctx, member_names, render

router = APIRouter(include_in_schema=False)


@router.get("/council", response_class=HTMLResponse)
def council_page(ctx: Ctx) -> HTMLResponse:
    """Every resolution with its status and outcome, and the enacted shares."""
    return render(
        "council.html",
        active="/council",
        resolutions=council_read.list_resolutions(ctx),
        shares=council_read.enacted_shares(ctx),
    )


@router.get("/council/{resolution_id}", response_class=HTMLResponse)
def resolution_page(ctx: Ctx, resolution_id: str, recounted: bool = False) -> HTMLResponse:
    """One resolution: payload, rule, window, tally (live while open), every signed ballot
    with its signature check, and (on request) a recount from the public record."""
    detail = council_read.get_resolution(ctx, resolution_id)
    report = None
    if recounted and detail.status != "open":
        report = recount(DbLogSource(ctx.db).entries(0, ALL), resolution_id)
    return render(
        "resolution.html",
        active="/council",
        res=detail,
        tally=detail.tally or detail.live_tally,
        checks=council_read.signature_checks(ctx, resolution_id),
        members=member_names(ctx),
        report=report,
    )
