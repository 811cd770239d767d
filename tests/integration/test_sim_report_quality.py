"""The /sim page and the standalone report.html show fragmentation and the one-pod fraction."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from tests.integration.test_sim_report_page import HTML, run_report

from pnyx.api.app import create_app
from pnyx.services.context import ServiceContext
from pnyx.settings import Settings


def test_page_and_file_show_fragmentation_and_one_pod(tmp_path: Path, ctx: ServiceContext) -> None:
    doc = run_report(tmp_path, "quality")
    frag, pods = doc["metrics"]["fragmentation"], doc["metrics"]["one_pod"]
    series = doc["series"]["fragmentation"]
    assert len(series["free"]) == len(doc["series"]["utilisation"]["values"])
    client = TestClient(create_app(Settings(data_dir=tmp_path / "data"), ctx=ctx))
    page = client.get("/sim/quality", headers=HTML).text
    free = ",".join(f"{v:.6g}" for v in series["free"])
    assert f'data-name="free" data-values="{free}"' in page
    assert f"of {frag['free_accelerators']:.0f} free accelerators" in page
    assert 'id="one-pod"' in page
    if pods["fraction"] is None:
        assert "no multi-node start had a pod with room" in page
    saved = (tmp_path / "data" / "sim-reports" / "quality" / "report.html").read_text()
    assert f'data-name="free" data-values="{free}"' in saved  # the same plots, offline
    assert "/static/" not in saved
