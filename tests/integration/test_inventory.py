"""Facility inventory on SQLite and PostgreSQL: load, reload, change, deny, replay, API, CLI."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pnyx.api.app import create_app
from pnyx.cli.main import app as cli_app
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.domain.inventory import count_totals
from pnyx.domain.inventory_parse import parse_facility
from pnyx.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from pnyx.services import identity
from pnyx.services import inventory as svc
from pnyx.services.context import ServiceContext
from pnyx.services.events import event_count
from pnyx.settings import Settings
from pnyx.store.replay import check_replay

OPERATOR = Actor.system()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SMALL = EXAMPLES / "facility-small.yaml"
LARGE = EXAMPLES / "facility-100k.yaml"


def admit(ctx: ServiceContext, *members: str) -> None:
    for m in members:
        identity.admit_member(ctx, OPERATOR, m, m.upper())


def small() -> dict[str, Any]:
    return copy.deepcopy(dict(svc.parse_facility_file(SMALL)))


def loaded_small(ctx: ServiceContext) -> dict[str, Any]:
    admit(ctx, "de")
    spec = small()
    svc.load_facility(ctx, OPERATOR, spec)
    return spec


def test_small_example_summary_matches_the_spec(ctx: ServiceContext) -> None:
    spec = loaded_small(ctx)
    want = count_totals(parse_facility(spec))
    got = svc.facility_summary(ctx)
    assert (got.sites_count, got.clusters_count) == (want.sites, want.clusters) == (1, 2)
    assert (got.pods, got.nodes, got.accelerators) == (want.pods, want.nodes, want.accelerators)
    assert got.by_type == want.by_type == {"gaudi3": 4, "h100": 32, "mi300x": 4}
    site = svc.get_site(ctx, "de-lab")
    assert site.host_member == "de"
    assert [c.cluster_id for c in site.clusters] == ["lab-gpu", "lab-mix"]
    gpu = svc.get_cluster(ctx, "lab-gpu")
    assert (gpu.pods, gpu.nodes, gpu.accelerators, gpu.containment) == (2, 4, 32, "CL-3")
    [secure] = gpu.partitions
    assert (secure.name, secure.containment, secure.certificate_expires) == (
        "secure",
        "CL-3",
        "2027-06-30",
    )
    assert (secure.nodes, secure.accelerators) == (2, 16)


def test_pods_and_nodes_of_a_cluster(ctx: ServiceContext) -> None:
    loaded_small(ctx)
    pods = svc.list_pods(ctx, "lab-mix")
    assert [(p.pod_id, p.nodes, p.accelerators) for p in pods] == [("lab-mix-r0", 3, 8)]
    assert pods[0].by_type == {"gaudi3": 4, "mi300x": 4}
    page = svc.list_nodes(ctx, "lab-gpu", offset=1, limit=2)
    assert page.total == 4
    assert [n.node_name for n in page.items] == ["lab-gpu-r000-n001", "lab-gpu-r001-n000"]
    assert page.items[1].partition == "secure"
    assert page.items[0].partition is None
    assert svc.list_nodes(ctx, None, 0, 500).total == 7


def test_unknown_ids_are_not_found(ctx: ServiceContext) -> None:
    loaded_small(ctx)
    with pytest.raises(NotFoundError, match="site 'nope'"):
        svc.get_site(ctx, "nope")
    with pytest.raises(NotFoundError, match="cluster 'nope'"):
        svc.get_cluster(ctx, "nope")
    with pytest.raises(NotFoundError, match="cluster 'nope'"):
        svc.list_pods(ctx, "nope")
    with pytest.raises(NotFoundError, match="cluster 'nope'"):
        svc.list_nodes(ctx, "nope", 0, 10)


def test_100k_example_loads_with_exact_totals_and_replays(ctx: ServiceContext) -> None:
    admit(ctx, "de", "fr", "it", "es")
    result = svc.load_facility(ctx, OPERATOR, svc.parse_facility_file(LARGE))
    assert (result.accelerators, result.nodes, result.sites, result.events) == (
        100_000,
        12_500,
        4,
        11,
    )
    summary = svc.facility_summary(ctx)
    assert summary.accelerators == 100_000
    assert summary.nodes == 12_500
    assert summary.by_type == {
        "b200": 25_600,
        "gaudi3": 7_680,
        "h100": 30_880,
        "h200": 25_600,
        "mi300x": 10_240,
    }
    assert sum(s.accelerators for s in summary.sites) == 100_000
    assert {s.host_member for s in summary.sites} == {"de", "fr", "it", "es"}
    vault = svc.get_cluster(ctx, "es-vault")
    assert vault.physically_separate and vault.containment == "CL-4"
    assert [(p.containment, p.nodes) for p in vault.partitions] == [("CL-4", 20)]
    assert svc.list_nodes(ctx, None, 0, 1).total == 12_500
    before = event_count(ctx)
    assert svc.load_facility(ctx, OPERATOR, svc.parse_facility_file(LARGE)).events == 0
    assert event_count(ctx) == before
    report = check_replay(ctx.db)
    assert report.ok, report.as_dict()
    assert report.rows["nodes"] == 12_500


def test_reload_is_idempotent(ctx: ServiceContext) -> None:
    spec = loaded_small(ctx)
    before = event_count(ctx)
    result = svc.load_facility(ctx, OPERATOR, spec)
    assert result.events == 0
    assert result.declared == [] and result.retired == []
    assert event_count(ctx) == before


def test_changed_file_redeclares_and_replays(ctx: ServiceContext) -> None:
    spec = loaded_small(ctx)
    spec["sites"][0]["clusters"][0]["pods"][0]["count"] = 3  # a third rack
    before = event_count(ctx)
    result = svc.load_facility(ctx, OPERATOR, spec)
    assert result.declared == ["cluster lab-gpu"]
    assert event_count(ctx) == before + 1
    gpu = svc.get_cluster(ctx, "lab-gpu")
    assert (gpu.pods, gpu.nodes, gpu.accelerators) == (3, 6, 48)
    assert check_replay(ctx.db).ok


def test_pod_moves_between_clusters_then_a_cluster_is_removed(ctx: ServiceContext) -> None:
    spec = loaded_small(ctx)
    gpu, mix = spec["sites"][0]["clusters"]
    gpu["pods"].append(mix["pods"][0])  # lab-mix's rack moves to lab-gpu ...
    group = {"count": 1, "accelerator_type": "l40s", "accelerators_per_node": 4}
    group |= {"cpus": 32, "mem_gib": 256}
    mix["pods"] = [{"pod_id": "lab-mix-r1", "kind": "rack", "nodes": [group]}]  # ... a new one
    moved = svc.load_facility(ctx, OPERATOR, spec)
    assert moved.retired == ["cluster lab-mix"]  # the donor goes first, then comes back
    assert moved.declared == ["cluster lab-gpu", "cluster lab-mix"]
    nodes = svc.list_nodes(ctx, "lab-gpu", 0, 100)
    assert nodes.total == 7
    assert {"mi-a", "mi-b", "gaudi-000"} <= {n.node_name for n in nodes.items}
    assert svc.get_cluster(ctx, "lab-mix").by_type == {"l40s": 4}
    assert check_replay(ctx.db).ok
    del spec["sites"][0]["clusters"][1]
    removed = svc.load_facility(ctx, OPERATOR, spec)
    assert (removed.retired, removed.declared) == (["cluster lab-mix"], [])
    with pytest.raises(NotFoundError):
        svc.get_cluster(ctx, "lab-mix")
    assert svc.facility_summary(ctx).nodes == 7
    assert check_replay(ctx.db).ok


def test_researcher_may_not_load(ctx: ServiceContext) -> None:
    admit(ctx, "de")
    identity.create_principal(
        ctx, OPERATOR, NewPrincipal("ada", "Ada", frozenset({Role.RESEARCHER}))
    )
    ada = identity.authenticate(ctx, identity.issue_token(ctx, OPERATOR, "ada").token)
    before = event_count(ctx)
    with pytest.raises(PermissionDeniedError, match="needs role operator"):
        svc.load_facility(ctx, ada, small())
    assert event_count(ctx) == before
    assert svc.facility_summary(ctx).sites == []


def test_unknown_accelerator_type_writes_nothing(ctx: ServiceContext) -> None:
    admit(ctx, "de")
    spec = small()
    spec["sites"][0]["clusters"][1]["pods"][0]["nodes"][1]["accelerator_type"] = "h900"
    before = event_count(ctx)
    path = "sites[0].clusters[1].pods[0].nodes[1].accelerator_type"
    with pytest.raises(InvalidInputError, match=rf"^{re.escape(path)}: unknown accelerator type"):
        svc.load_facility(ctx, OPERATOR, spec)
    assert event_count(ctx) == before


def test_host_member_must_exist(ctx: ServiceContext) -> None:
    before = event_count(ctx)
    with pytest.raises(NotFoundError, match=r"sites\[0\].host_member: member 'de' does not exist"):
        svc.load_facility(ctx, OPERATOR, small())
    assert event_count(ctx) == before


# --- files ------------------------------------------------------------------------------------


def test_facility_files_parse_or_fail_clearly(tmp_path: Path) -> None:
    as_json = tmp_path / "f.json"
    as_json.write_text(json.dumps(small()))
    assert svc.parse_facility_file(as_json) == small()
    cases = {
        "missing.yaml": None,
        "tabs.yaml": "sites:\n\t- x",
        "dup.yaml": "sites: []\nsites: []\n",
        "list.yaml": "- a\n- b\n",
        "bad.json": '{"sites": [}',
        "dup.json": '{"sites": [], "sites": []}',
    }
    expect = {
        "missing.yaml": "cannot read",
        "tabs.yaml": "malformed YAML",
        "dup.yaml": "duplicate key 'sites'",
        "list.yaml": "expected a mapping with 'sites' at the top, got a list",
        "bad.json": "malformed JSON",
        "dup.json": "malformed JSON: duplicate key 'sites'",
    }
    for name, text in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        with pytest.raises(InvalidInputError, match=re.escape(expect[name])):
            svc.parse_facility_file(tmp_path / name)


# --- HTTP API ---------------------------------------------------------------------------------


def operator_headers(ctx: ServiceContext) -> dict[str, str]:
    identity.create_principal(
        ctx, OPERATOR, NewPrincipal("op", "Operator", frozenset({Role.OPERATOR}))
    )
    return {"Authorization": f"Bearer {identity.issue_token(ctx, OPERATOR, 'op').token}"}


@pytest.fixture
def client(ctx: ServiceContext) -> TestClient:
    return TestClient(create_app(Settings(), ctx=ctx))


def test_api_loads_json_and_yaml_and_serves_reads(client: TestClient, ctx: ServiceContext) -> None:
    admit(ctx, "de")
    headers = operator_headers(ctx)
    resp = client.post("/api/v1/facility", json=small(), headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["accelerators"] == 40
    again = client.post(
        "/api/v1/facility",
        content=SMALL.read_bytes(),
        headers=headers | {"Content-Type": "application/yaml"},
    )
    assert again.status_code == 200, again.text
    assert again.json()["events"] == 0
    assert client.get("/api/v1/facility").json()["nodes"] == 7
    assert client.get("/api/v1/sites/de-lab").json()["clusters"][0]["cluster_id"] == "lab-gpu"
    assert client.get("/api/v1/clusters/lab-gpu").json()["partitions"][0]["name"] == "secure"
    assert len(client.get("/api/v1/clusters/lab-gpu/pods").json()) == 2
    page = client.get("/api/v1/nodes", params={"cluster": "lab-mix", "limit": 2}).json()
    assert (page["total"], len(page["items"])) == (3, 2)
    missing = client.get("/api/v1/clusters/nope")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_api_bad_spec_is_422_and_writes_nothing(client: TestClient, ctx: ServiceContext) -> None:
    admit(ctx, "de")
    headers = operator_headers(ctx)
    before = event_count(ctx)
    spec = small()
    spec["sites"][0]["clusters"][0]["pods"][0]["nodes"][0]["count"] = 0
    resp = client.post("/api/v1/facility", json=spec, headers=headers)
    assert resp.status_code == 422
    body = resp.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == "invalid_input"
    assert body["detail"] == "sites[0].clusters[0].pods[0].nodes[0].count: must be > 0, got 0"
    malformed = client.post(
        "/api/v1/facility",
        content=b'{"sites": [',
        headers=headers | {"Content-Type": "application/json"},
    )
    assert malformed.status_code == 422
    assert "malformed JSON" in malformed.json()["detail"]
    huge = client.post(
        "/api/v1/facility",
        content=b" " * (svc.MAX_SPEC_BYTES + 1),
        headers=headers | {"Content-Type": "application/json"},
    )
    assert huge.status_code == 422
    assert "over the" in huge.json()["detail"]
    assert event_count(ctx) == before
    assert client.get("/api/v1/facility").json()["sites"] == []


def test_api_load_needs_an_operator(client: TestClient, ctx: ServiceContext) -> None:
    admit(ctx, "de")
    before = event_count(ctx)
    resp = client.post("/api/v1/facility", json=small())
    assert resp.status_code == 403
    assert resp.json()["error"] == "permission_denied"
    assert event_count(ctx) == before


def test_openapi_documents_the_facility_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/facility", "/api/v1/sites/{site_id}", "/api/v1/nodes"):
        assert path in paths
    content = paths["/api/v1/facility"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/yaml"} <= set(content)


# --- CLI --------------------------------------------------------------------------------------


def test_cli_load_and_show(tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data", str(tmp_path / "data")]
    admitted = runner.invoke(cli_app, ["member", "admit", "de", "--name", "Germany", *data])
    assert admitted.exit_code == 0, admitted.output
    loaded = runner.invoke(cli_app, ["facility", "load", str(SMALL), *data, "--json"])
    assert loaded.exit_code == 0, loaded.output
    result = json.loads(loaded.stdout)
    assert (result["events"], result["accelerators"], result["nodes"]) == (3, 40, 7)
    shown = runner.invoke(cli_app, ["facility", "show", *data, "--json"])
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.stdout)
    assert summary["by_type"] == {"gaudi3": 4, "h100": 32, "mi300x": 4}
    assert summary["sites"][0]["clusters"][0]["partitions"][0]["containment"] == "CL-3"
    table = runner.invoke(cli_app, ["facility", "show", *data])
    assert table.exit_code == 0
    assert "lab-gpu" in table.stdout and "40" in table.stdout


def test_cli_load_of_a_broken_file_fails(tmp_path: Path) -> None:
    broken = yaml.safe_load(SMALL.read_text())
    broken["sites"][0]["clusters"][0]["containment"] = "CL-9"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    runner = CliRunner()
    result = runner.invoke(
        cli_app, ["facility", "load", str(path), "--data", str(tmp_path / "data")]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidInputError)
    assert "sites[0].clusters[0].containment: unknown containment level 'CL-9'" in str(
        result.exception
    )
