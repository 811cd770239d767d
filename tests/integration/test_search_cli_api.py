"""Search through the CLI (index, count, locate, prove, verify-proof) and the HTTP API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pnyx.api.app import create_app
from pnyx.cli.main import app as cli
from pnyx.data.artifacts import ArtifactStore
from pnyx.data.search import index as idx
from pnyx.domain.identity import Actor
from pnyx.services import datasets, search
from pnyx.services.context import ServiceContext
from pnyx.settings import Settings

TEXTS = {
    "one.txt": "Open models for everyone, trained on open data.",
    "two.txt": "Everyone can check what the models were trained on.",
}


def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in TEXTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """CLI runs in ``tmp_path`` (its log key lands there) with artifacts under it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PNYX_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    yield tmp_path
    idx.close_all()


def invoke(ctx: ServiceContext, *args: str, ok: bool = True) -> Any:
    result = CliRunner().invoke(cli, [*args, "--db", ctx.db.url])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_cli_index_count_locate_prove_verify(ctx: ServiceContext, cli_env: Path) -> None:
    folder = corpus(cli_env)
    invoke(ctx, "data", "add", "open", str(folder), "--modality", "text",
           "--license", "CC0-1.0", "--source", "test")  # fmt: skip
    built = json.loads(invoke(ctx, "data", "index", "open", "--json").stdout)
    assert built["documents"] == 2 and built["shards"][0]["status"] == "built"
    counted = json.loads(invoke(ctx, "data", "count", "open", "models", "--json").stdout)
    assert counted["count"] == 2
    located = json.loads(
        invoke(ctx, "data", "locate", "open@1", "trained on", "--limit", "5", "--runs", "--json")
        .stdout
    )  # fmt: skip
    assert [h["doc_id"] for h in located["hits"]] == ["one.txt", "two.txt"]
    assert located["hits"][0]["runs"] == []  # no run trained on it yet
    query_file = cli_env / "q.txt"
    query_file.write_text("check what", encoding="utf-8")
    proof_path = cli_env / "proof.json"
    invoke(ctx, "data", "prove", "open", "--query-file", str(query_file), "--out", str(proof_path))
    result = CliRunner().invoke(cli, ["data", "verify-proof", str(proof_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["claim"] == "present" and report["key_source"] == "proof"
    proof = json.loads(proof_path.read_text())
    proof["occurrence"]["line"] = proof["occurrence"]["line"].replace("check", "chuck")
    proof_path.write_text(json.dumps(proof))
    bad = CliRunner().invoke(cli, ["data", "verify-proof", str(proof_path)])
    assert bad.exit_code != 0
    assert "document" in str(bad.exception) or "document" in bad.output


def test_cli_bad_input_exits_non_zero(ctx: ServiceContext, cli_env: Path) -> None:
    unknown = invoke(ctx, "data", "count", "missing", "x", ok=False)
    assert unknown.exit_code != 0 and "unknown dataset 'missing'" in str(unknown.exception)
    no_query = invoke(ctx, "data", "count", "missing", "--json", ok=False)
    assert no_query.exit_code != 0 and "--query-file" in str(no_query.exception)


def test_api_count_locate_prove(ctx: ServiceContext, tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    datasets.add_version(ctx, Actor.system(), store, "open", corpus(tmp_path), "text",
                         "CC0-1.0", "test")  # fmt: skip
    search.build_index(ctx, Actor.system(), store, "open")
    settings = Settings(data_dir=tmp_path, artifacts_dir=tmp_path / "artifacts")
    client = TestClient(create_app(settings, ctx=ctx))
    answer = client.post("/api/v1/search/count", json={"dataset": "open", "query": "models"})
    assert answer.status_code == 200 and answer.json()["count"] == 2
    hits = client.post(
        "/api/v1/search/locate", json={"dataset": "open@1", "query": "Everyone", "limit": 1}
    ).json()
    assert hits["count"] == 1 and hits["hits"][0]["match"] == "Everyone"
    proof = client.post("/api/v1/search/prove", json={"dataset": "open", "query": "open data"})
    assert proof.status_code == 200 and proof.json()["claim"] == "present"
    indexes = client.get("/api/v1/search/indexes").json()
    assert indexes[0]["dataset"] == "open" and indexes[0]["documents"] == 2
    empty = client.post("/api/v1/search/count", json={"dataset": "open", "query": ""})
    assert empty.status_code == 422 and "empty" in empty.text
    unknown = client.post("/api/v1/search/count", json={"dataset": "nope", "query": "x"})
    assert unknown.status_code == 404
    use = client.get("/api/v1/search/training-use", params={"dataset": "open", "document": 9})
    assert use.status_code == 422
    page = client.get("/search", params={"dataset": "open", "q": "trained on"})
    assert page.status_code == 200 and 'id="search-count">2<' in page.text
