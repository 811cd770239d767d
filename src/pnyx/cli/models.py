"""pnyx model list / show / register / evaluate / release / download."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pnyx.cli.common import (
    JsonOpt,
    console,
    emit,
)
from pnyx.cli.remote import Remote
from pnyx.cli.source import Source, addressed
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
@addressed()
def list_(
    src: Source,
    all: Annotated[bool, typer.Option("--all", help="include unreleased versions")] = False,
    json: JsonOpt = False,
) -> None:
    """List released model versions (with --all: every version)."""
    items = src.read(
        "/api/v1/models",
        lambda c, _: models.list_models(c, include_unreleased=all),
        params={"all": str(all).lower()},
    )
    emit(items, json or src.is_remote, _table)  # over --url: the server's JSON


@app.command("show")
@addressed()
def show(
    ref: Annotated[str, typer.Argument(help="NAME@N, or NAME for its newest version")],
    src: Source,
    json: JsonOpt = False,
) -> None:
    """Show a model version: lineage, files, evaluations, release."""
    view = src.read(f"/api/v1/models/{ref}", lambda c, _: models.get_model(c, ref))
    emit(view, json or src.is_remote, _show)  # over --url: the server's JSON


@app.command("register")
@addressed(url=False, token=False)
def register(
    run_id: Annotated[str, typer.Argument(help="the run that trained the model")],
    model_dir: Annotated[Path, typer.Argument(help="HF-format directory (config, weights)")],
    name: Annotated[str, typer.Option(help="model name")],
    src: Source,
    license: Annotated[str, typer.Option(help="SPDX licence of the weights")] = "Apache-2.0",
    description: Annotated[str, typer.Option(help="one paragraph for the card")] = "",
    artifacts: ArtifactsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Register the next version of a model from a run's output directory."""
    view = models.register_model_version(
        src.ctx, SYSTEM, _store(src.data, artifacts), run_id, model_dir, name, license,
        description or f"{name}, trained by run {run_id} on pnyx.",
    )  # fmt: skip
    emit(view, json, lambda v: console.print(f"registered {v.id} ({v.params:,} parameters)"))


@app.command("evaluate")
@addressed(url=False, token=False)
def evaluate(
    ref: Annotated[str, typer.Argument(help="NAME@N")],
    src: Source,
    artifacts: ArtifactsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Evaluate a model version: held-out perplexity and the multiple-choice benchmark."""
    reports = evaluation.evaluate_model(src.ctx, SYSTEM, _store(src.data, artifacts), ref)
    emit(reports, json, _print_reports)


def _print_reports(reports: list[EvalReportView]) -> None:
    for r in reports:
        console.print(f"{r.suite}: {r.metrics}")


@app.command("release")
@addressed()
def release(
    ref: Annotated[str, typer.Argument(help="NAME@N")],
    src: Source,
    artifacts: ArtifactsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Release a model version through the gate of its containment level."""
    view = src.write(
        f"/api/v1/models/{ref}/release",
        {},
        lambda c, a: models.release_model(c, a, _store(src.data, artifacts), ref),
    )
    emit(
        view,
        json or src.is_remote,  # over --url: the server's JSON
        lambda v: console.print(f"released {v.id}: gate {', '.join(v.release_gate or [])}"),
    )


@app.command("download")
@addressed()
def download(
    ref: Annotated[str, typer.Argument(help="NAME@N, or NAME for its newest version")],
    out: Annotated[Path, typer.Option("--out", help="directory to write (HF format)")],
    src: Source,
    artifacts: ArtifactsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Download a model version as an HF-format directory; every checksum is verified."""
    if src.is_remote:  # an archive, not JSON: fetched and checked here
        result = download_remote(src.remote, ref, out)
    else:
        result = models.download_model(src.ctx, src.actor, _store(src.data, artifacts), ref, out)
    emit(
result, json, lambda r: console.print(
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
