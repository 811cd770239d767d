"""`pnyx council preview` through the simulator: a share change on a contended workload moves
the simulated delivered shares and waits the way it should; static figures stay alongside."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from council_setup import OPERATOR, build_council
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pnyx.api.app import create_app
from pnyx.cli.main import app as cli
from pnyx.errors import InvalidInputError
from pnyx.services import council, council_preview, council_read
from pnyx.services.context import ServiceContext
from pnyx.services.council_preview import PreviewSettings, preview_resolution
from pnyx.settings import Settings

CLUSTERS = ("c1", "c2", "c3", "c4", "c5")
DOUBLED = {"de": "0.4", "fr": "0.15", "it": "0.15", "es": "0.15", "pl": "0.15"}


def contended_trace(path: Path) -> Path:
    """Five clusters with the same demand: 16 jobs of 4 accelerators for 3 h each, all
    submitted in the first 16 minutes (2.5 times what 16 accelerators do in a day)."""
    rows = ["timestamp,duration,num_gpus,gpu_time,cluster"]
    for j in range(16):
        for k, cluster in enumerate(CLUSTERS):
            rows.append(f"2017-10-01 00:{j:02d}:{k * 7:02d},10800.0,4,43200.0,{cluster}")
    path.write_text("\n".join(rows) + "\n")
    return path


def settings(tmp_path: Path) -> PreviewSettings:
    return PreviewSettings(
        trace=contended_trace(tmp_path / "trace.csv"),
        accelerators=16,
        start=datetime(2017, 10, 1),
        end=datetime(2017, 10, 2),
        load=None,
    )


def propose_doubling(ctx: ServiceContext) -> str:
    c = build_council(ctx)
    payload = {"programme_id": "open-models", "shares": DOUBLED}
    return c.propose(kind="set-member-shares", payload=payload).resolution_id


def test_doubling_a_share_raises_its_delivered_share(ctx: ServiceContext, tmp_path: Path) -> None:
    rid = propose_doubling(ctx)
    out = preview_resolution(ctx, rid, settings(tmp_path))
    sim = out["simulated"]
    assert out["simulation_skipped"] is None and sim["jobs"] == 80
    assert sorted(sim["mapping"].values()) == ["de", "es", "fr", "it", "pl"]  # one each
    de = sim["members"]["de"]
    assert de["enacted_share"]["before"] == pytest.approx(0.2)
    assert de["enacted_share"]["after"] == pytest.approx(0.4)
    # equal demand, all contended: de, with twice the others' share, gets clearly more
    others = [sim["members"][m] for m in ("fr", "it", "es", "pl")]
    assert de["delivered_share"]["after"] > de["delivered_share"]["before"] + 0.1
    assert de["delivered_share"]["after"] > max(m["delivered_share"]["after"] for m in others)
    assert de["mean_wait_s"]["after"] < de["mean_wait_s"]["before"]
    assert sum(m["mean_wait_s"]["after"] for m in others) > sum(
        m["mean_wait_s"]["before"] for m in others
    )
    total_after = sum(m["delivered_share"]["after"] for m in sim["members"].values())
    assert total_after == pytest.approx(1.0)
    # every member's compute is in open-models after; hours add up to the members' hours
    hours = sum(m["delivered_accel_hours"]["after"] for m in sim["members"].values())
    assert sim["programmes"]["open-models"]["after"] == pytest.approx(hours, abs=0.01)
    # the static arithmetic is alongside (no programme share enacted: no hours to split)
    assert out["members"] == {} and out["programmes"] == {}


def test_preview_is_deterministic_and_cached(ctx: ServiceContext, tmp_path: Path) -> None:
    rid = propose_doubling(ctx)
    fixed = settings(tmp_path)
    first = preview_resolution(ctx, rid, fixed)
    council_preview._cache.clear()
    again = preview_resolution(ctx, rid, fixed)
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert len(council_preview._cache) == 1
    preview_resolution(ctx, rid, fixed)
    assert len(council_preview._cache) == 1  # served from the cache
    settings(tmp_path)  # the trace file is written again: a new entry, same figures
    assert preview_resolution(ctx, rid, fixed) == first
    assert len(council_preview._cache) == 2


def test_without_a_workload_the_static_figures_remain(ctx: ServiceContext, tmp_path: Path) -> None:
    rid = propose_doubling(ctx)
    missing = PreviewSettings(trace=tmp_path / "none.csv")
    out = preview_resolution(ctx, rid, missing)
    assert out["simulated"] is None and "not found" in out["simulation_skipped"]
    assert out["before_is"] == "shares in force" and out["kind"] == "set-member-shares"
    with pytest.raises(InvalidInputError, match="accelerators"):
        PreviewSettings(accelerators=100_000)


def test_cli_preview_json_and_text(ctx: ServiceContext, tmp_path: Path) -> None:
    rid = propose_doubling(ctx)
    trace = contended_trace(tmp_path / "trace.csv")
    argv = ["council", "preview", rid, "--trace", str(trace), "--accelerators", "16"]
    argv += ["--start", "2017-10-01", "--end", "2017-10-02", "--load", "0", "--db", ctx.db.url]
    result = CliRunner().invoke(cli, [*argv, "--json"])
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    de = out["simulated"]["members"]["de"]["delivered_share"]
    assert de["after"] > de["before"]
    text = CliRunner().invoke(cli, argv)
    assert text.exit_code == 0 and "member de:" in text.stdout
    static = CliRunner().invoke(cli, ["council", "preview", rid, "--static", "--db", ctx.db.url])
    assert "simulation skipped: not requested" in static.stdout


@pytest.fixture
def client(ctx: ServiceContext) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), ctx=ctx)) as c:
        yield c


def test_resolution_page_shows_the_simulated_preview(
    client: TestClient, ctx: ServiceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = propose_doubling(ctx)
    fast = settings(tmp_path)
    monkeypatch.setattr(council_preview, "PreviewSettings", lambda: fast)
    page = client.get(f"/council/{rid}", headers={"accept": "text/html"}).text
    assert 'id="whatif-static"' in page and 'name="simulate"' in page
    assert 'id="whatif-members"' not in page  # simulated only on request
    page = client.get(f"/council/{rid}?simulate=true", headers={"accept": "text/html"}).text
    out = preview_resolution(ctx, rid, fast)
    de = out["simulated"]["members"]["de"]["delivered_share"]
    assert f'data-label="de" data-before="{de["before"]:.6g}"' in page
    assert f'data-after="{de["after"]:.6g}"' in page
    assert f'<td class="delivered-after">{100 * de["after"]:.1f} %</td>' in page


def test_a_passed_resolution_is_previewed_against_the_shares_before_it(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    c = build_council(ctx)
    payload = {"programme_id": "open-models", "shares": DOUBLED}
    rid = c.propose(kind="set-member-shares", payload=payload).resolution_id
    for member in DOUBLED:
        c.vote(rid, member, "yes")
    council.close_resolution(ctx, OPERATOR, rid)
    assert council_read.get_resolution(ctx, rid).status == "passed"
    out = preview_resolution(ctx, rid, settings(tmp_path))
    assert out["before_is"] == "shares before enactment"
    de = out["simulated"]["members"]["de"]
    assert de["enacted_share"]["before"] == pytest.approx(0.2)  # not the 0.4 now in force
    assert de["enacted_share"]["after"] == pytest.approx(0.4)
    assert de["delivered_share"]["after"] > de["delivered_share"]["before"]
