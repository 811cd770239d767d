"""Datasets over HTTP, in the portal and through the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fastapi.testclient import TestClient
from tests.integration.datasets_setup import small_corpora
from typer.testing import CliRunner

from pnyx.api.app import create_app
from pnyx.cli.main import app as cli
from pnyx.data.artifacts import ArtifactStore
from pnyx.data.corpora import Corpus
from pnyx.data.shards import read_text_shard
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.services import checkpoints, datasets, identity
from pnyx.services.context import ServiceContext
from pnyx.settings import Settings


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Corpus]:
    return small_corpora(tmp_path_factory.mktemp("corpora"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def client(ctx: ServiceContext, settings: Settings) -> TestClient:
    return TestClient(create_app(settings, ctx=ctx))


def headers(ctx: ServiceContext, pid: str, role: Role) -> dict[str, str]:
    identity.create_principal(ctx, Actor.system(), NewPrincipal(pid, pid, frozenset({role}), None))
    return {"Authorization": f"Bearer {identity.issue_token(ctx, Actor.system(), pid).token}"}


def test_api_pages_and_opt_out(
    ctx: ServiceContext, settings: Settings, client: TestClient, corpora: dict[str, Corpus]
) -> None:
    store = ArtifactStore(settings.artifacts_root)
    c = corpora["code"]
    v = datasets.add_version(
        ctx, Actor.system(), store, c.name, c.path, "code", c.license, c.source
    )
    listed = client.get("/api/v1/datasets").json()
    assert [d["dataset"] for d in listed] == [c.name]
    got = client.get(f"/api/v1/datasets/{c.name}/1").json()
    assert got["manifest_sha256"] == v.manifest_sha256 and got["license"] == "PSF-2.0"
    assert client.get(f"/api/v1/datasets/{c.name}/9").status_code == 404
    assert client.get("/api/v1/datasets/nope/latest").status_code == 404
    croissant = client.get(f"/api/v1/datasets/{c.name}/latest/croissant")
    assert croissant.headers["content-type"].startswith("application/ld+json")
    shard_url = croissant.json()["distribution"][0]["contentUrl"]
    shard = client.get(shard_url)
    assert hashlib.sha256(shard.content).hexdigest() == v.shards[0].sha256

    target = read_text_shard(shard.content)[0]
    body: dict[str, Any] = {"record_hashes": [target.sha256], "reason": "rights holder asked"}
    assert client.post(f"/api/v1/datasets/{c.name}/removals", json=body).status_code == 403
    researcher = headers(ctx, "ada", Role.RESEARCHER)
    url = f"/api/v1/datasets/{c.name}/removals"
    assert client.post(url, json=body, headers=researcher).status_code == 403
    op = headers(ctx, "op", Role.OPERATOR)
    made = client.post(url, json=body, headers=op)
    assert made.status_code == 201, made.text
    assert made.json()["to_version"] == 2 and made.json()["removed"] == [target.sha256]
    assert client.post(url, json={"reason": "x", "extra": 1}, headers=op).status_code == 422

    checkpoints.issue_checkpoint(ctx, Actor.system())
    ledger = client.get(f"/record?entry={v.ledger_seq}")
    assert ledger.status_code == 200 and "dataset.version_added" in ledger.text
    page = client.get("/datasets").text
    assert c.name in page and "PSF-2.0" in page
    detail = client.get(f"/datasets/{c.name}/2").text
    assert target.sha256 in detail and "rights holder asked" in detail
    assert all(s["sha256"] in detail for s in made.json()["version"]["manifest"]["shards"])

    # tamper: the shard is refused over HTTP (422) and the failure shows on the page
    path = store.path(v.shards[0].sha256)
    path.write_bytes(path.read_bytes()[:-10])
    refused = client.get(shard_url)
    assert refused.status_code == 422 and v.shards[0].sha256 in refused.json()["detail"]
    assert "corrupt" in client.get(f"/datasets/{c.name}/1").text


def run(ctx: ServiceContext, data: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--db", ctx.db.url, "--json"], env={
        "PNYX_ARTIFACTS_DIR": str(data / "artifacts")})  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_add_show_verify_remove_croissant(
    ctx: ServiceContext, tmp_path: Path, corpora: dict[str, Corpus]
) -> None:
    c = corpora["image"]
    added = run(ctx, tmp_path, "data", "add", "figures", str(c.path), "--modality", "image",
                "--license", "psf-2.0", "--source", c.source)  # fmt: skip
    pngs = len(list(c.path.rglob("*.png")))
    assert added["license"] == "PSF-2.0" and added["records"] == pngs > 0
    assert added["metadata"]["formats"] == {"png": pngs}
    assert run(ctx, tmp_path, "data", "list")[0]["dataset"] == "figures"
    assert run(ctx, tmp_path, "data", "verify", "figures@1")["ok"] is True
    shown = run(ctx, tmp_path, "data", "show", "figures")
    sample_source = f"{Path(c.path).resolve().as_uri()}/"
    removed = run(ctx, tmp_path, "data", "remove", "figures", "--source-url", sample_source,
                  "--reason", "all of it")  # fmt: skip
    assert removed["version"]["records"] == 0 and len(removed["removed"]) == shown["records"]
    out = tmp_path / "c.json"
    result = CliRunner().invoke(cli, ["data", "croissant", "figures@1", "--db", ctx.db.url,
                                      "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["name"] == "figures"
    args = ["data", "add", "x", str(c.path), "--modality", "smell", "--license", "MIT"]
    bad = CliRunner().invoke(cli, [*args, "--source", "s", "--db", ctx.db.url])
    assert bad.exit_code != 0 and "unknown modality" in str(bad.exception or bad.output)


def test_cli_with_an_fsspec_artifact_url(
    ctx: ServiceContext, tmp_path: Path, corpora: dict[str, Corpus]
) -> None:
    url = f"memory://pnyx-{tmp_path.name}/artifacts"
    env = {"PNYX_ARTIFACTS_URL": url, "PNYX_ARTIFACTS_DIR": str(tmp_path / "cache")}
    c = corpora["video"]
    args = ["data", "add", "clips", str(c.path), "--modality", "video", "--license", "CC0-1.0",
            "--source", c.source, "--db", ctx.db.url, "--json"]  # fmt: skip
    added = CliRunner().invoke(cli, args, env=env)
    assert added.exit_code == 0, added.output
    shard = json.loads(added.stdout)["shards"][0]["sha256"]
    fs = fsspec.filesystem("memory")
    remote = f"/pnyx-{tmp_path.name}/artifacts/sha256/{shard[:2]}/{shard}"
    assert fs.exists(remote) and not (tmp_path / "cache" / "sha256").exists()
    verify = ["data", "verify", "clips", "--db", ctx.db.url, "--json"]
    assert CliRunner().invoke(cli, verify, env=env).exit_code == 0
    fs.pipe_file(remote, b"tampered")
    failed = CliRunner().invoke(cli, verify, env=env)
    assert failed.exit_code == 1 and json.loads(failed.stdout)["ok"] is False
