"""pnyx data: datasets with provenance (add, list, show, verify, remove, croissant, corpus).

Local commands act on the store directly as the facility's administrator (or ``--as`` a
principal); shards live in the artifact store (``<data dir>/artifacts``, or
``PNYX_ARTIFACTS_DIR``). Search commands (index, count, locate, prove) are added to this same
``app`` by :mod:`pnyx.cli.data_search`; ``PNYX_ARTIFACTS_URL`` (an fsspec URL) puts the
artifacts in an object store.
"""

from __future__ import annotations

import json as jsonlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pnyx.cli.common import (
    JsonOpt,
    console,
    emit,
)
from pnyx.cli.source import Source, addressed
from pnyx.data.artifacts import ArtifactStore
from pnyx.data.corpora import make_corpus
from pnyx.data.ingest import SHARD_LIMIT_BYTES
from pnyx.data.remote_store import open_artifact_store
from pnyx.domain.datasets import parse_ref
from pnyx.domain.identity import Actor
from pnyx.services import datasets
from pnyx.services.datasets_dto import DatasetVersionView
from pnyx.settings import DEFAULT_DATA_DIR, Settings

app = typer.Typer(
    help="Datasets: versions of content-addressed shards with provenance.", no_args_is_help=True
)


def artifact_store(data: Path | None) -> ArtifactStore:
    """The artifact store of the addressed data directory (PNYX_ARTIFACTS_DIR moves it,
    PNYX_ARTIFACTS_URL puts it at an fsspec URL cached there)."""
    settings = Settings(data_dir=data or DEFAULT_DATA_DIR)
    return open_artifact_store(settings.artifacts_root, settings.artifacts_url)


def _summary(v: DatasetVersionView) -> None:
    tokens = ", ".join(f"{k}={n}" for k, n in v.tokens.items()) or "-"
    console.print(
        f"{v.ref}: {v.modality}, {v.records} records, {v.bytes} bytes in {len(v.shards)} "
        f"shards, licence {v.license}, tokens {tokens}\n  source: {v.source}\n"
        f"  manifest sha256 {v.manifest_sha256} (ledger entry {v.ledger_seq})",
        highlight=False,
    )


@app.command("add")
@addressed(principal=True, url=False, token=False)
def add(
    name: str,
    path: Path,
    modality: Annotated[str, typer.Option(help="text|code|image|audio|video")],
    license: Annotated[str, typer.Option("--license", help="SPDX licence id or expression")],
    source: Annotated[str, typer.Option(help="where the data comes from (URL or text)")],
    src: Source,
    shard_mib: Annotated[int, typer.Option(help="shard size limit in MiB")] = SHARD_LIMIT_BYTES
    >> 20,
    json: JsonOpt = False,
) -> None:
    """Ingest the files under PATH as the next version of dataset NAME."""
    ctx = src.ctx
    view = datasets.add_version(
        ctx, src.actor, artifact_store(src.data), name, path, modality, license, source,
        shard_mib << 20,
    )  # fmt: skip
    emit(view, json, _summary)


@app.command("list")
@addressed()
def list_(src: Source, json: JsonOpt = False) -> None:
    """List datasets with their newest version."""
    items = src.read("/api/v1/datasets", lambda c, _: datasets.list_datasets(c))

    def render(xs: list[Any]) -> None:
        table = Table("dataset", "modality", "latest", "licence", "records", "bytes")
        for x in xs:
            table.add_row(x.dataset, x.modality, str(x.latest_version), x.license,
                          str(x.records), str(x.bytes))  # fmt: skip
        console.print(table)

    emit(items, json or src.is_remote, render)  # over --url: the server's JSON


@app.command("show")
@addressed()
def show(
    ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION")],
    src: Source,
    json: JsonOpt = False,
) -> None:
    """Show a dataset version: manifest, shards, licence, removals."""
    name, version = parse_ref(ref)
    view = src.read(
        f"/api/v1/datasets/{name}/{version or 'latest'}",
        lambda c, _: datasets.get_version(c, name, version),
    )

    def render(v: DatasetVersionView) -> None:
        _summary(v)
        for s in v.shards:
            flag = f"  [red]{s.problem}[/red]" if s.problem else ""
            console.print(f"  shard {s.position}: {s.sha256} {s.format} {s.records} records "
                          f"{s.bytes} bytes{flag}")  # fmt: skip
        for r in v.removals:
            console.print(f"  removed in v{r.to_version}: {r.record_sha256} ({r.reason})")

    emit(view, json or src.is_remote, render)  # over --url: the server's JSON


@app.command("verify")
@addressed(url=False, token=False)
def verify(
    ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION")],
    src: Source,
    json: JsonOpt = False,
) -> None:
    """Re-hash every shard of a version; bad shards are reported (and recorded); exit 1 if any."""
    name, version = parse_ref(ref)
    ctx = src.ctx
    report = datasets.verify_version(ctx, Actor.system(), artifact_store(src.data), name, version)

    def render(r: Any) -> None:
        for c in r.shards:
            state = "ok" if c.ok else f"[red]BAD[/red] {c.problem}"
            console.print(f"shard {c.position} {c.sha256}: {state}", highlight=False)
        console.print(f"manifest: {'ok' if r.manifest_ok else '[red]BAD[/red]'}")
        console.print(f"{name}@{r.version}: {'ok' if r.ok else 'FAILED'}")

    emit(report, json, render)
    if not report.ok:
        raise typer.Exit(1)


@app.command("remove")
@addressed(principal=True, url=False, token=False)
def remove(
    name: str,
    reason: Annotated[str, typer.Option(help="why (kept on the ledger with the hashes)")],
    src: Source,
    record_hash: Annotated[
        list[str] | None, typer.Option("--record-hash", help="SHA-256 of a record; repeat")
    ] = None,
    source_url: Annotated[
        list[str] | None,
        typer.Option("--source-url", help="record source (ending in / for a prefix); repeat"),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Opt-out: make a new version without the matching records; list the affected runs."""
    ctx = src.ctx
    result = datasets.remove_records(
        ctx, src.actor, artifact_store(src.data), name, record_hash or [], source_url or [],
        reason,
    )  # fmt: skip

    def render(r: Any) -> None:
        console.print(
            f"{r.dataset}@{r.to_version} made from v{r.from_version} without "
            f"{len(r.removed)} record(s); affected runs: {', '.join(r.affected_runs) or 'none'}",
            highlight=False,
        )

    emit(result, json, render)


@app.command("croissant")
@addressed()
def croissant(
    ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION")],
    src: Source,
    base_url: Annotated[str, typer.Option(help="public base URL for shard links")] = "",
    out: Annotated[Path | None, typer.Option(help="write to this file")] = None,
) -> None:
    """Print (or --out) the Croissant 1.0 JSON-LD description of a version."""
    name, version = parse_ref(ref)
    doc = src.read(
        f"/api/v1/datasets/{name}/{version or 'latest'}/croissant",
        lambda c, _: datasets.croissant(c, name, version, base_url),
    )
    text = jsonlib.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


@app.command("corpus")
def corpus(
    modality: str,
    dest: Path,
    json: JsonOpt = False,
) -> None:
    """Make a small demo corpus of open data found on this machine (no download) in DEST."""
    c = make_corpus(modality, dest)
    info = {"name": c.name, "path": str(c.path), "modality": c.modality,
            "license": c.license, "source": c.source}  # fmt: skip
    emit(
        info,
        json,
        lambda i: console.print(
            f"{i['path']}: {i['modality']} corpus, licence {i['license']}\n  source: "
            f"{i['source']}\n  pnyx data add {i['name']} {i['path']} --modality "
            f"{i['modality']} --license {i['license']} --source '{i['source']}'",
            highlight=False,
        ),
    )
