"""`pnyx sim run --report-out` writes a report; the portal's /sim page plots and lists it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pnyx.api.app import create_app
from pnyx.cli.main import app as cli
from pnyx.errors import InvalidInputError, NotFoundError
from pnyx.services import sim_report
from pnyx.services.context import ServiceContext
from pnyx.settings import Settings

HTML = {"accept": "text/html"}


def small_trace(path: Path) -> Path:
    """Two clusters over two days on 16 accelerators: some jobs must wait."""
    rows = ["timestamp,duration,num_gpus,gpu_time,cluster"]
    for day in (1, 2):
        for j in range(12):
            cluster = "a" if j % 3 else "b"
            rows.append(f"2017-10-0{day} {j:02d}:00:00,{3600 * (1 + j % 4)}.0,4,0,{cluster}")
    path.write_text("\n".join(rows) + "\n")
    return path


def run_report(tmp_path: Path, name: str, *extra: str) -> dict[str, Any]:
    out = tmp_path / "data" / "sim-reports" / name
    argv = ["sim", "run", "--trace", str(small_trace(tmp_path / "t.csv")), "--accelerators"]
    argv += ["16", "--policy", "pnyx", "--report-out", str(out), *extra, "--json"]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads((out / "report.json").read_text())
    assert doc["metrics"] == json.loads(result.stdout) | {
        k: doc["metrics"][k] for k in ("wall_s", "jobs_per_s", "peak_rss_mib")
    }
    return doc


def test_report_series_agree_with_the_metrics(tmp_path: Path) -> None:
    doc = run_report(tmp_path, "two-days")
    series, metrics = doc["series"], doc["metrics"]
    util = series["utilisation"]
    assert util["bucket_s"] == 3600 and len(util["values"]) == 48
    assert sum(util["values"]) / len(util["values"]) == pytest.approx(
        metrics["utilisation"], abs=1e-5
    )
    assert sum(series["wait_histogram"]["counts"]) == metrics["jobs"] == 24
    assert series["days"] == ["2017-10-01", "2017-10-02"]
    for name, member in series["members"].items():
        assert member["enacted_share"] == metrics["members"][name]["enacted_share"]
    for d in range(2):
        shares = [m["delivered_share"][d] for m in series["members"].values()]
        assert sum(shares) == pytest.approx(1.0)


def test_sim_page_lists_reports_and_plots_the_newest(tmp_path: Path, ctx: ServiceContext) -> None:
    client = TestClient(create_app(Settings(data_dir=tmp_path / "data"), ctx=ctx))
    assert "No simulator reports yet" in client.get("/sim", headers=HTML).text
    run_report(tmp_path, "equal")
    shares = tmp_path / "shares.json"
    shares.write_text(json.dumps({"a": 3, "b": 1}))
    doc = run_report(tmp_path, "weighted", "--shares", str(shares))
    page = client.get("/sim", headers=HTML).text
    assert page.index('data-report="weighted"') < page.index('data-report="equal"')
    assert 'href="/sim" aria-current="page"' in page
    util = ",".join(f"{v:.6g}" for v in doc["series"]["utilisation"]["values"])
    assert f'data-name="utilisation" data-values="{util}"' in page
    assert 'data-label="a" data-before="0.75"' in page  # enacted 3/4
    delivered = doc["metrics"]["members"]["a"]["delivered_share"]
    assert f'data-after="{delivered:.6g}"' in page
    assert f"{100 * doc['metrics']['utilisation']:.2f} %" in page
    one = client.get("/sim/equal", headers=HTML).text
    assert "Report equal" in one and 'data-label="a" data-before="0.5"' in one
    assert client.get("/sim/nope", headers=HTML).status_code == 404
    assert client.get("/sim/..%2Fx", headers=HTML).status_code in (400, 404, 422)


def test_broken_reports_are_left_out_or_refused(tmp_path: Path) -> None:
    bad = tmp_path / "sim-reports" / "bad"
    bad.mkdir(parents=True)
    (bad / "report.json").write_text("{not json")
    assert sim_report.list_reports(tmp_path) == []
    with pytest.raises(InvalidInputError, match="unreadable"):
        sim_report.get_report(tmp_path, "bad")
    with pytest.raises(InvalidInputError, match="report name"):
        sim_report.get_report(tmp_path, "../etc")
    with pytest.raises(NotFoundError):
        sim_report.get_report(tmp_path, "missing")
