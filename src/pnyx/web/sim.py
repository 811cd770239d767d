"""The simulator report page: reports of ``pnyx sim run --report-out`` (docs/simulator.md)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from pnyx.services import sim_report
from pnyx.services.share_dto import SimReport, SimReportSummary
from pnyx.web.plots import Bar, render_stacked_bars
from pnyx.web.routes import ENV, STATIC_DIR, render
from pnyx.web.seriesplot import Series, render_paired_bars, render_series_chart

router = APIRouter(include_in_schema=False)
HTML_FILE = "report.html"


def _data_dir(request: Request) -> Path:
    data_dir: Path = request.app.state.settings.data_dir
    return data_dir


@router.get("/sim", response_class=HTMLResponse)
def sim_page(request: Request) -> HTMLResponse:
    """Every report in the data directory, and the newest in full."""
    data_dir = _data_dir(request)
    reports = sim_report.list_reports(data_dir)
    latest = sim_report.get_report(data_dir, reports[0].name) if reports else None
    return _render(reports, latest, data_dir)


@router.get("/sim/{name}", response_class=HTMLResponse)
def sim_report_page(request: Request, name: str) -> HTMLResponse:
    """One report in full."""
    data_dir = _data_dir(request)
    report = sim_report.get_report(data_dir, name)
    return _render(sim_report.list_reports(data_dir), report, data_dir)


def _render(
    reports: list[SimReportSummary], report: SimReport | None, data_dir: Path
) -> HTMLResponse:
    return render(
        "sim.html",
        active="/sim",
        reports=reports,
        report=report,
        where=str(sim_report.reports_dir(data_dir)),
        charts=charts(report) if report else {},
        waits=wait_rows(report) if report else [],
    )


def wait_rows(report: SimReport) -> list[tuple[str, int]]:
    """(bin label, jobs) of the wait histogram."""
    hist = report.series["wait_histogram"]
    edges = hist["edges_s"]
    labels = [f"{_dur(a)} to {_dur(b)}" for a, b in pairwise(edges)]
    labels.append(f"{_dur(edges[-1])} or more")
    return list(zip(labels, hist["counts"], strict=True))


def _dur(seconds: float) -> str:
    if seconds >= 86_400:
        return f"{seconds / 86_400:g} d"
    if seconds >= 3_600:
        return f"{seconds / 3_600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def charts(report: SimReport) -> dict[str, Markup]:
    """The report's plots as inline SVG."""
    s = report.series
    util = s["utilisation"]
    hours = [f"{i * util['bucket_s'] / 3600:g} h" for i in range(len(util["values"]))]
    members = s["members"]
    overall = report.metrics.get("members", {})
    svgs = {
        "utilisation": render_series_chart(
            hours,
            [Series("utilisation", util["values"])],
            title="Utilisation over time",
            y_label="busy fraction",
            id_prefix="sim-util",
        ),
        "waits": render_stacked_bars(
            [Bar(label, {"jobs": count}) for label, count in wait_rows(report)],
            title="Jobs by wait before their first start",
            unit="jobs",
            id_prefix="sim-waits",
        ),
        "shares": render_paired_bars(
            [
                (m, float(v["enacted_share"]), float(overall.get(m, {}).get("delivered_share", 0)))
                for m, v in members.items()
            ],
            title="Enacted and delivered share per member over the window",
            id_prefix="sim-shares",
            labels=("enacted", "delivered"),
        ),
        "daily": render_series_chart(
            s["days"],
            [Series(m, v["delivered_share"]) for m, v in members.items()],
            title="Delivered share per member per day",
            y_label="share of delivered",
            id_prefix="sim-daily",
        ),
    }
    frag = s.get("fragmentation")
    if frag:
        step = [f"{i * frag['bucket_s'] / 3600:g} h" for i in range(len(frag["free"]))]
        svgs["fragmentation"] = render_series_chart(
            step,
            [Series("free", frag["free"]), Series("no pending job could use", frag["unusable"])],
            title="Free accelerators after passes, and those no pending job could use",
            y_label="accelerators",
            id_prefix="sim-frag",
            percent=False,
        )
    return {k: Markup(v) for k, v in svgs.items()}  # noqa: S704


def standalone_html(doc: dict[str, Any]) -> str:
    """The report as one HTML file that opens without a server: the /sim page's report
    section with its inline SVG plots and the portal's stylesheet inlined."""
    report = sim_report.report_from_doc(str(doc.get("name", "report")), doc)
    return ENV.get_template("sim_report_file.html").render(
        report=report,
        charts=charts(report),
        waits=wait_rows(report),
        css=Markup((STATIC_DIR / "pnyx.css").read_text(encoding="utf-8")),  # noqa: S704
    )


def write_standalone(directory: Path, doc: dict[str, Any]) -> Path:
    """Write ``directory/report.html`` (see :func:`standalone_html`)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / HTML_FILE
    path.write_text(standalone_html(doc), encoding="utf-8")
    return path
