"""Simulator reports for the portal: the ``report.json`` files under ``DATA_DIR/sim-reports``.

``pnyx sim run ... --report-out DATA_DIR/sim-reports/NAME`` writes one (see
:mod:`pnyx.sim.report`); any report copied there shows too. Reports are files, not events:
they describe simulations, not the facility, so they are not on the record.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pnyx.errors import InvalidInputError, NotFoundError
from pnyx.services.share_dto import SimReport, SimReportSummary
from pnyx.sim.report import FORMAT, REPORT_FILE

REPORTS_DIR = "sim-reports"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def reports_dir(data_dir: Path) -> Path:
    """Where the portal looks for reports."""
    return data_dir / REPORTS_DIR


def list_reports(data_dir: Path) -> list[SimReportSummary]:
    """Every readable report, newest file first (unreadable ones are left out)."""
    root = reports_dir(data_dir)
    if not root.is_dir():
        return []
    found = [p for p in root.glob(f"*/{REPORT_FILE}") if NAME.match(p.parent.name)]
    found.sort(key=lambda p: (-p.stat().st_mtime_ns, p.parent.name))
    out = []
    for path in found:
        try:
            out.append(_summary(path.parent.name, _read(path)))
        except InvalidInputError:
            continue
    return out


def get_report(data_dir: Path, name: str) -> SimReport:
    """One report by its directory name."""
    if not NAME.match(name):
        raise InvalidInputError(f"report name {name!r}: letters, digits, '.', '_' and '-' only")
    path = reports_dir(data_dir) / name / REPORT_FILE
    if not path.is_file():
        raise NotFoundError(f"no simulator report {name!r}")
    return report_from_doc(name, _read(path))


def report_from_doc(name: str, doc: dict[str, Any]) -> SimReport:
    """A report document (``pnyx.sim.report.build_report``) as the view model."""
    summary = _summary(name, doc)
    return SimReport(**summary.model_dump(), metrics=doc["metrics"], series=doc["series"])


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InvalidInputError(f"{path}: unreadable report ({e})") from e
    ok = (
        isinstance(doc, dict)
        and doc.get("format") == FORMAT
        and isinstance(doc.get("metrics"), dict)
        and isinstance(doc.get("series"), dict)
    )
    if not ok:
        raise InvalidInputError(f"{path}: not a simulator report of format {FORMAT}")
    out: dict[str, Any] = doc
    return out


def _summary(name: str, doc: dict[str, Any]) -> SimReportSummary:
    m = doc["metrics"]
    try:
        return SimReportSummary(
            name=name,
            policy=str(m["policy"]),
            jobs=int(m["jobs"]),
            accelerators=int(m["accelerators"]),
            utilisation=float(m["utilisation"]),
            mean_wait_s=float(m["wait_s"]["mean"]),
            share_deviation_pp={k: float(v) for k, v in m["share_deviation_pp"].items()},
        )
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidInputError(f"report {name!r}: metrics lack {e}") from e
