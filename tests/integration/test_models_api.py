"""Models and runs over HTTP, on the portal and through the CLI (local store and --url)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.integration.jobs_setup import build_world, request
from tests.integration.models_setup import make_dataset, make_run_output
from typer.testing import CliRunner

from pnyx.api.app import create_app
from pnyx.cli.main import app as cli
from pnyx.cli.models import download_remote
from pnyx.cli.remote import Remote
from pnyx.data.artifacts import ArtifactStore
from pnyx.domain import models as m
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.errors import VerificationError
from pnyx.services import identity, jobs, models, runs
from pnyx.services.context import ServiceContext
from pnyx.services.record import record
from pnyx.settings import Settings

SYSTEM = Actor.system()


@pytest.fixture
def world(ctx: ServiceContext, tmp_path: Path) -> tuple[TestClient, ArtifactStore, str, str]:
    """A server over ``ctx`` with data in tmp_path, one run and model version (unreleased)."""
    store = models.artifact_store(tmp_path)
    w = build_world(ctx)
    job = jobs.submit_job(ctx, w.alice, request(w))
    out = make_run_output(tmp_path / "run", make_dataset(store), [[0, 1]])
    run = runs.register_run_dir(ctx, SYSTEM, store, out, job.job_id)
    vid = models.register_model_version(
        ctx, SYSTEM, store, run.run_id, out / "model", "web-lm", "MIT", "Served."
    ).id
    client = TestClient(create_app(Settings(data_dir=tmp_path), ctx=ctx))
    return client, store, run.run_id, vid


def token(ctx: ServiceContext, pid: str, role: Role) -> dict[str, str]:
    identity.create_principal(ctx, SYSTEM, NewPrincipal(pid, pid, frozenset({role}), "de"))
    return {"Authorization": f"Bearer {identity.issue_token(ctx, SYSTEM, pid).token}"}


def evaluated(ctx: ServiceContext, vid: str) -> None:
    model, version = m.parse_version_id(vid)
    with ctx.db.transaction() as conn:
        record(
            conn, ctx, SYSTEM,
            [m.ModelEvaluated(model, version, s, "00" * 32, {"n": 1}) for s in m.REQUIRED_SUITES],
        )  # fmt: skip


def untar(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {
            member.name: tar.extractfile(member).read()  # type: ignore[union-attr]
            for member in tar.getmembers()
        }


def test_models_over_http(ctx: ServiceContext, world: Any) -> None:
    client, _store, run_id, vid = world
    assert client.get("/api/v1/models").json() == []
    listed = client.get("/api/v1/models", params={"all": "true"}).json()
    assert [v["id"] for v in listed] == [vid]
    detail = client.get(f"/api/v1/models/{vid}").json()
    assert detail["lineage"]["run_id"] == run_id and detail["released"] is False
    assert client.get(f"/api/v1/models/{vid}/archive").status_code == 403
    researcher = token(ctx, "ada", Role.RESEARCHER)
    private = client.get(f"/api/v1/models/{vid}/archive", headers=researcher)
    assert private.status_code == 200
    assert models.get_model(ctx, vid).downloads == 1  # the non-public download is on record
    files = untar(private.content)
    sums = models.parse_checksums(files["web-lm-1/SHA256SUMS"].decode())
    assert set(sums) == {f["path"] for f in detail["files"]} | {"README.md"}

    operator = token(ctx, "op", Role.OPERATOR)
    refused = client.post(f"/api/v1/models/{vid}/release", headers=operator)
    assert refused.status_code == 409 and "evaluation report" in refused.json()["detail"]
    evaluated(ctx, vid)
    assert client.post(f"/api/v1/models/{vid}/release").status_code == 403
    released = client.post(f"/api/v1/models/{vid}/release", headers=operator)
    assert released.status_code == 200 and released.json()["released"] is True
    assert client.get(f"/api/v1/models/{vid}/archive").status_code == 200
    assert models.get_model(ctx, vid).downloads == 1  # public downloads are not events

    metrics = client.get(f"/api/v1/runs/{run_id}/metrics", params={"after": 0}).json()
    assert [p["step"] for p in metrics] == [1]
    assert client.get("/api/v1/runs").json()[0]["run_id"] == run_id
    assert client.get("/api/v1/runs/nope").status_code == 404


def test_portal_pages(ctx: ServiceContext, world: Any) -> None:
    client, _store, run_id, vid = world
    html = {"Accept": "text/html"}
    page = client.get("/models", headers=html)
    assert page.status_code == 200 and vid in page.text and run_id in page.text
    detail = client.get(f"/models/{vid}", headers=html).text
    assert "license: mit" in detail and "Lineage" in detail and "tinycode@1" in detail
    run_page = client.get(f"/runs/{run_id}", headers=html).text
    assert "<polyline" in run_page and "hx-get" not in run_page  # registered: no polling
    runs.report_metrics(ctx, SYSTEM, "run-live", [{"step": 1, "loss": 3.0, "tokens_per_s": 9}])
    live = client.get("/runs/run-live", headers=html).text
    assert 'hx-get="/runs/run-live/plots"' in live and "still running" in live
    fragment = client.get("/runs/run-live/plots").text
    assert fragment.startswith('<div id="run-plots"') and "<svg" in fragment
    assert client.get("/runs/nope", headers=html).status_code == 404


def test_cli_and_remote_download(ctx: ServiceContext, world: Any, tmp_path: Path) -> None:
    client, store, run_id, vid = world
    common = ["--db", ctx.db.url, "--json"]

    def run(*args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(cli, [*args, *common])
        assert result.exit_code == code, result.output
        return json.loads(result.stdout) if code == 0 else result.output

    assert [v["id"] for v in run("model", "list", "--all")] == [vid]
    assert run("model", "show", "web-lm")["id"] == vid
    assert run("run", "show", run_id)["run_id"] == run_id
    assert run("run", "list")[0]["job_id"] == "j-000001"
    evaluated(ctx, vid)
    art = ["--artifacts", str(store.root)]
    assert run("model", "release", vid, *art)["released"] is True
    got = run("model", "download", vid, "--out", str(tmp_path / "cli"), *art)
    assert got["verified"] is True and (tmp_path / "cli" / "config.json").is_file()

    remote = Remote("http://testserver")
    remote.client = client
    result = download_remote(remote, vid, tmp_path / "remote")
    assert result.verified and (tmp_path / "remote" / "README.md").is_file()
    sums = tmp_path / "remote" / "SHA256SUMS"
    lines = sums.read_text().splitlines(keepends=True)
    sums.write_text("".join(lines) + lines[0])
    with pytest.raises(VerificationError, match="twice"):
        models.verify_directory(tmp_path / "remote", {})
    (tmp_path / "remote" / "config.json").write_text("{}")
    sums.write_text("".join(lines))
    with pytest.raises(VerificationError, match=r"config\.json hashes to"):
        models.verify_directory(tmp_path / "remote", {})
