"""The utilisation page: accelerators held by jobs by site, type and member, and the queue."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from pnyx.services import utilisation
from pnyx.services.share_dto import UtilisationView
from pnyx.web.plots import Bar, render_stacked_bars
from pnyx.web.routes import Ctx, member_names, render

router = APIRouter(include_in_schema=False)


@router.get("/utilisation", response_class=HTMLResponse)
def utilisation_page(ctx: Ctx) -> HTMLResponse:
    """Held vs free accelerators per site and type, held per member, queued per member."""
    view = utilisation.utilisation_now(ctx)
    return render(
        "utilisation.html",
        active="/utilisation",
        view=view,
        rows=site_rows(view),
        members=member_names(ctx),
        chart=site_chart(view),
    )


def site_rows(view: UtilisationView) -> list[tuple[str, str, int, int]]:
    """(site, type, capacity, held) for every site and type in the inventory or in use."""
    cap, held = view.capacity_by_site, view.in_use_by_site
    return [
        (site, kind, cap.get(site, {}).get(kind, 0), held.get(site, {}).get(kind, 0))
        for site in sorted(set(cap) | set(held))
        for kind in sorted(set(cap.get(site, {})) | set(held.get(site, {})))
    ]


def site_chart(view: UtilisationView) -> Markup:
    """Per site: held accelerators by type, and the free ones."""
    bars = []
    for site in sorted(set(view.capacity_by_site) | set(view.in_use_by_site)):
        held = view.in_use_by_site.get(site, {})
        free = sum(view.capacity_by_site.get(site, {}).values()) - sum(held.values())
        bars.append(Bar(site, {**{f"{k} held": n for k, n in held.items()}, "free": max(free, 0)}))
    svg = render_stacked_bars(
        bars, title="Accelerators held by jobs and free, per site", id_prefix="utilisation"
    )
    return Markup(svg)  # noqa: S704
