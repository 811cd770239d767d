"""The public portal: server-rendered pages over the services (readable without JavaScript)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from pnyx.services import events, identity, inventory
from pnyx.services.context import ServiceContext
from pnyx.services.inventory_dto import ClusterSummary, SiteSummary
from pnyx.web import views
from pnyx.web.plots import Bar, colour_map, format_count, render_stacked_bars

STATIC_DIR = Path(__file__).parent / "static"
MAX_PAGE = 500


class NavItem(NamedTuple):
    """One entry of the main navigation."""

    href: str
    label: str


# Later pages (allocations, models, datasets, ledger, ...) add themselves here.
NAV: list[NavItem] = [NavItem("/", "Overview"), NavItem("/events", "Events")]
NAV.append(NavItem("/council", "Council"))
NAV.append(NavItem("/calls", "Calls"))
NAV.append(NavItem("/awards", "Awards"))
NAV.append(NavItem("/datasets", "Datasets"))
NAV.append(NavItem("/search", "Search data"))
NAV.append(NavItem("/jobs", "Jobs"))
NAV.append(NavItem("/models", "Models"))
NAV.append(NavItem("/record", "Record"))
NAV.append(NavItem("/utilisation", "Utilisation"))
NAV.append(NavItem("/sim", "Simulator"))

ENV = Environment(
    loader=PackageLoader("pnyx.web", "templates"), autoescape=True, undefined=StrictUndefined
)
ENV.filters["count"] = format_count
ENV.globals["nav"] = NAV

router = APIRouter(include_in_schema=False)


def get_ctx(request: Request) -> ServiceContext:
    """The app's service context."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ServiceContext, Depends(get_ctx)]


def render(name: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    """Render template ``name`` (autoescaped) into an HTML response."""
    ctx.setdefault("active", None)
    return HTMLResponse(ENV.get_template(name).render(**ctx), status_code=status_code)


def render_error(status_code: int, kind: str, detail: str) -> HTMLResponse:
    """The HTML error page (the API's error handler calls this for portal paths)."""
    return render("error.html", status_code, kind=kind, detail=detail, status=status_code)


def mount_static(app: FastAPI) -> None:
    """Serve the portal's CSS and vendored scripts under /static."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


@router.get("/", response_class=HTMLResponse)
def overview(ctx: Ctx) -> HTMLResponse:
    """The facility: sites, clusters, accelerators by type, capacity by site."""
    summary = inventory.facility_summary(ctx)
    types = views.type_order([summary.by_type])
    chart = site_chart(summary.sites, colour_map(types)) if summary.sites else Markup("")
    return render(
        "overview.html",
        active="/",
        summary=summary,
        types=types,
        chart=chart,
        members=member_names(ctx),
        share=views.share_pct,
    )


@router.get("/sites/{site_id}", response_class=HTMLResponse)
def site(ctx: Ctx, site_id: str) -> HTMLResponse:
    """One site: its clusters, their partitions and certificates, and its totals."""
    summary = inventory.get_site(ctx, site_id)
    today = ctx.now()
    certs = {
        (c.cluster_id, p.name): views.certificate_status(p.certificate_expires, today)
        for c in summary.clusters
        for p in c.partitions
    }
    return render(
        "site.html",
        site=summary,
        types=views.type_order([summary.by_type]),
        chart=cluster_chart(summary.clusters, facility_colours(ctx)),
        host=member_names(ctx).get(summary.host_member, summary.host_member),
        certs=certs,
        share=views.share_pct,
    )


@router.get("/events", response_class=HTMLResponse)
def event_stream(
    ctx: Ctx,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> HTMLResponse:
    """The public event stream, newest first."""
    page = events.list_events(ctx, offset, limit, newest_first=True)
    pager = views.Pager(offset, limit, page.total)
    return render("events.html", active="/events", page=page, pager=pager, body=views.format_body)


def site_chart(sites: list[SiteSummary], colours: dict[str, str]) -> Markup:
    """Capacity by site and accelerator type, as inline SVG (escaped by plots)."""
    bars = [Bar(s.name, s.by_type) for s in sites]
    title = "Accelerators by site and type"
    svg = render_stacked_bars(bars, title=title, id_prefix="capacity", colours=colours)
    return Markup(svg)  # noqa: S704


def cluster_chart(clusters: list[ClusterSummary], colours: dict[str, str]) -> Markup:
    """Capacity by cluster and accelerator type, as inline SVG (empty for no clusters)."""
    if not clusters:
        return Markup("")
    bars = [Bar(c.name, c.by_type) for c in clusters]
    title = "Accelerators by cluster and type"
    svg = render_stacked_bars(bars, title=title, id_prefix="clusters", colours=colours)
    return Markup(svg)  # noqa: S704


def facility_colours(ctx: ServiceContext) -> dict[str, str]:
    """The overview's colour of each accelerator type, so every chart uses the same ones."""
    return colour_map(views.type_order([inventory.facility_summary(ctx).by_type]))


def member_names(ctx: ServiceContext) -> dict[str, str]:
    """Member id -> display name (the first page of members; ids stand in past it)."""
    page = identity.list_members(ctx, 0, MAX_PAGE)
    return {m.member_id: m.name for m in page.items}
