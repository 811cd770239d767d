"""Portal pages of the Council: resolutions, live tallies, signed ballots, recount."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from pnyx.services import council_read
from pnyx.services.council_preview import preview_resolution
from pnyx.services.council_verify import ALL, recount
from pnyx.services.logsources import DbLogSource
from pnyx.services.share_history import SHARE_KINDS
from pnyx.web.routes import Ctx, member_names, render
from pnyx.web.seriesplot import render_paired_bars

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
def resolution_page(
    ctx: Ctx, resolution_id: str, recounted: bool = False, simulate: bool = False
) -> HTMLResponse:
    """One resolution: payload, rule, window, tally (live while open), every signed ballot
    with its signature check, (on request) a recount from the public record, and for a share
    resolution its what-if (share arithmetic; the simulator on request, cached)."""
    detail = council_read.get_resolution(ctx, resolution_id)
    report = None
    if recounted and detail.status != "open":
        report = recount(DbLogSource(ctx.db).entries(0, ALL), resolution_id)
    preview = None
    if detail.kind in SHARE_KINDS:
        preview = preview_resolution(ctx, resolution_id, simulate=simulate)
    return render(
        "resolution.html",
        active="/council",
        res=detail,
        tally=detail.tally or detail.live_tally,
        checks=council_read.signature_checks(ctx, resolution_id),
        members=member_names(ctx),
        report=report,
        preview=preview,
        preview_chart=_preview_chart(preview),
    )


def _preview_chart(preview: dict[str, Any] | None) -> Markup:
    """Delivered share per member before/after in the simulated preview (inline SVG)."""
    if preview is None or preview["simulated"] is None:
        return Markup("")
    rows = [
        (m, v["delivered_share"]["before"], v["delivered_share"]["after"])
        for m, v in preview["simulated"]["members"].items()
    ]
    svg = render_paired_bars(
        rows, title="Simulated delivered share per member, before and after", id_prefix="whatif"
    )
    return Markup(svg)  # noqa: S704
