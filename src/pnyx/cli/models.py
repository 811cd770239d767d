"""pnyx model list / show / register / evaluate / release / download."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pnyx.cli.common import (
    DataOpt,
    DbOpt,
    JsonOpt,
    TokenOpt,
    UrlOpt,
    console,
    emit,
    open_context,
)
from pnyx.cli.remote import Remote
from pnyx.data.artifacts import ArtifactStore
from pnyx.domain.identity import Actor
from pnyx.errors import PnyxError, VerificationError
from pnyx.services import evaluation, models
from pnyx.services.models_dto import DownloadView, EvalReportView, ModelFile, ModelVersionView
from pnyx.settings import DEFAULT_DATA_DIR

app = typer.Typer(help="Models: versions with lineage, evaluations, release and download.")

SYSTEM = Actor.system()


ArtifactsOpt = Annotated[
    Path | None,
    typer.Option("--artifacts", help="artifact store directory (default: DATA/artifacts)"),
]


def _store(data: Path | None, artifacts: Path | None = None) -> ArtifactStore:
    if artifacts is not None:
        return ArtifactStore(artifacts)
    return models.artifact_store(data or DEFAULT_DATA_DIR)


def _table(items: list[ModelVersionView]) -> None:
    table = Table("model version", "params", "licence", "CL", "released", "run")
    for v in items:
        table.add_row(v.id, f"{v.params:,}", v.license, v.containment, str(v.released), v.run_id)
    console.print(table)


def _show(v: ModelVersionView) -> None:
    console.print(f"[bold]{v.id}[/bold] {v.params:,} parameters, {v.license}, {v.containment}")
    console.print(f"  run {v.run_id}; datasets: " + ", ".join(
        f"{d['dataset']}@{d['version']}" for d in v.lineage["datasets"]
    ))  # fmt: skip
    console.print(f"  award {v.lineage['award_id']}, resolution {v.lineage['resolution_id']}")
    for e in v.evaluations:
        console.print(f"  eval {e.suite}: {e.metrics}")
    console.print(f"  released: {v.released_at or 'no'}")


@app.command("list")
def list_(
    all: Annotated[bool, typer.Option("--all", help="include unreleased versions")] = False,
    data: DataOpt = None, db: DbOpt = None, url: UrlOpt = None, token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:  # fmt: skip
    """List released model versions (with --all: every version)."""
    if url is not None:
        emit(Remote(url, token).get("/api/v1/models", all=str(all).lower()), True)
        return
    items = models.list_models(open_context(data, db), include_unreleased=all)
    emit(items, json, _table)


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="NAME@N, or NAME for its newest version")],
    data: DataOpt = None, db: DbOpt = None, url: UrlOpt = None, token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:  # fmt: skip
    """Show a model version: lineage, files, evaluations, release."""
    if url is not None:
        emit(Remote(url, token).get(f"/api/v1/models/{ref}"), True)
        return
    emit(models.get_model(open_context(data, db), ref), json, _show)


@app.command("register")
def register(
    run_id: Annotated[str, typer.Argument(help="the run that trained the model")],
    model_dir: Annotated[Path, typer.Argument(help="HF-format directory (config, weights)")],
    name: Annotated[str, typer.Option(help="model name")],
    license: Annotated[str, typer.Option(help="SPDX licence of the weights")] = "Apache-2.0",
    description: Annotated[str, typer.Option(help="one paragraph for the card")] = "",
    data: DataOpt = None,
    db: DbOpt = None,
    artifacts: ArtifactsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Register the next version of a model from a run's output directory."""
    view = models.register_model_version(
        open_context(data, db), SYSTEM, _store(data, artifacts), run_id, model_dir, name, license,
        description or f"{name}, trained by run {run_id} on pnyx.",
    )  # fmt: skip
    emit(view, json, lambda v: console.print(f"registered {v.id} ({v.params:,} parameters)"))


@app.command("evaluate")
def evaluate(
    ref: Annotated[str, typer.Argument(help="NAME@N")],
    data: DataOpt = None,
    db: DbOpt = None,
    artifacts: ArtifactsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Evaluate a model version: held-out perplexity and the multiple-choice benchmark."""
    reports = evaluation.evaluate_model(
        open_context(data, db), SYSTEM, _store(data, artifacts), ref
    )
    emit(reports, json, _print_reports)


def _print_reports(reports: list[EvalReportView]) -> None:
    for r in reports:
        console.print(f"{r.suite}: {r.metrics}")


@app.command("release")
def release(
    ref: Annotated[str, typer.Argument(help="NAME@N")],
    data: DataOpt = None, db: DbOpt = None, url: UrlOpt = None, token: TokenOpt = None,
    artifacts: ArtifactsOpt = None, json: JsonOpt = False,
) -> None:  # fmt: skip
    """Release a model version through the gate of its containment level."""
    if url is not None:
        emit(Remote(url, token).post(f"/api/v1/models/{ref}/release", {}), True)
        return
    view = models.release_model(open_context(data, db), SYSTEM, _store(data, artifacts), ref)
    emit(
        view,
        json,
        lambda v: console.print(f"released {v.id}: gate {', '.join(v.release_gate or [])}"),
    )


@app.command("download")
def download(
    ref: Annotated[str, typer.Argument(help="NAME@N, or NAME for its newest version")],
    out: Annotated[Path, typer.Option("--out", help="directory to write (HF format)")],
    data: DataOpt = None, db: DbOpt = None, url: UrlOpt = None, token: TokenOpt = None,
    artifacts: ArtifactsOpt = None, json: JsonOpt = False,
) -> None:  # fmt: skip
    """Download a model version as an HF-format directory; every checksum is verified."""
    if url is not None:
        result = download_remote(Remote(url, token), ref, out)
    else:
        result = models.download_model(
            open_context(data, db), SYSTEM, _store(data, artifacts), ref, out
        )
    emit(result, json, lambda r: console.print(
        f"{r.id}: {len(r.files)} files in {r.out}, checksums verified\n"
        f"load: AutoModelForCausalLM.from_pretrained({str(r.out)!r})"
    ))  # fmt: skip


def download_remote(remote: Remote, ref: str, out: Path) -> DownloadView:
    """Fetch the archive from a server, unpack it and check it against the recorded hashes."""
    view = ModelVersionView.model_validate(remote.get(f"/api/v1/models/{ref}"))
    resp = remote.client.get(f"/api/v1/models/{view.id}/archive")
    if resp.status_code >= 400:
        raise PnyxError(f"download of {view.id} failed: HTTP {resp.status_code} {resp.text[:200]}")
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(resp.content), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.rsplit("/", 1)[-1]
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is None:
                raise VerificationError(f"archive member {member.name!r} is not a plain file")
            files[name] = handle.read()
    models.write_directory(files, out)
    models.verify_directory(out, {f.path: f.sha256 for f in view.files})
    return DownloadView(
        id=view.id, out=str(out), files=[ModelFile(**f.model_dump()) for f in view.files],
        verified=True, recorded=not view.released,
    )  # fmt: skip
