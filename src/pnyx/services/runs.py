"""Use cases for runs: register a training run's outcome, report metrics, list and show runs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pnyx.data.artifacts import ArtifactStore, sha256_file
from pnyx.domain import models as m
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.domain.ids import parse_slug
from pnyx.errors import ConflictError, InvalidInputError, NotFoundError
from pnyx.services import jobs
from pnyx.services.context import ServiceContext
from pnyx.services.models_dto import MetricPoint, RunView
from pnyx.services.record import record
from pnyx.store import models_repo as repo

METRICS_BATCH = 500  # metric points per run.metrics_reported event
MANIFEST_FILE = "run_manifest.json"
METRICS_FILE = "metrics.jsonl"
ORDER_FILES = ("order.jsonl", "order.json", "order.bin", "order.npy")


def runs_using_dataset(ctx: ServiceContext, dataset: str, version: int) -> list[RunView]:
    """Runs that trained on ``dataset`` version ``version``, oldest first (public)."""
    with ctx.db.read() as conn:
        return [run_view(r) for r in repo.runs_using(conn, dataset, version)]


def list_runs(ctx: ServiceContext, offset: int = 0, limit: int = 100) -> list[RunView]:
    """Registered runs, newest first (public)."""
    with ctx.db.read() as conn:
        return [run_view(r) for r in repo.run_rows(conn, offset, limit)]


def get_run(ctx: ServiceContext, run_id: str) -> RunView:
    """One run with the model versions it trained (public)."""
    with ctx.db.read() as conn:
        row = repo.run_row(conn, run_id)
        if row is None:
            raise NotFoundError(f"run {run_id!r} does not exist")
        models = [
            m.format_version_id(v["model"], v["version"])
            for v in repo.versions_of_run(conn, run_id)
        ]
        return run_view(row, models)


def run_metrics(ctx: ServiceContext, run_id: str, after_step: int = -1) -> list[MetricPoint]:
    """A run's metric points after ``after_step``, by step (public). Points streamed while the
    job still trains are there before the run is registered."""
    with ctx.db.read() as conn:
        points = repo.metric_rows(conn, run_id, after_step)
        if not points and repo.run_row(conn, run_id) is None and not repo.has_metrics(conn, run_id):
            raise NotFoundError(f"run {run_id!r} does not exist")
        return [MetricPoint(**p) for p in points]


def run_id_for_job(job_id: str) -> str:
    """The id of the run a job produces."""
    return f"run-{job_id}"


def record_run(
    ctx: ServiceContext,
    actor: Actor,
    event: m.RunRegistered,
    metrics: Sequence[Mapping[str, Any]] = (),
) -> RunView:
    """Put a run and its (remaining) metrics on the record in one transaction (operators)."""
    require_role(actor, Role.OPERATOR)
    parse_slug(event.run_id, "run id")
    points = m.parse_metric_points(metrics)
    with ctx.db.transaction() as conn:
        if repo.run_row(conn, event.run_id) is not None:
            raise ConflictError(f"run {event.run_id} is already registered")
        if event.job_id is not None and repo.run_by_job(conn, event.job_id) is not None:
            raise ConflictError(f"job {event.job_id} already has a registered run")
        known = {p["step"] for p in repo.metric_rows(conn, event.run_id)}
        fresh = [p for p in points if p["step"] not in known]
        events: list[m.RunRegistered | m.RunMetricsReported] = [event]
        events += [
            m.RunMetricsReported(event.run_id, fresh[i : i + METRICS_BATCH])
            for i in range(0, len(fresh), METRICS_BATCH)
        ]
        record(conn, ctx, actor, events)
        row = repo.run_row(conn, event.run_id)
        assert row is not None
        return run_view(row)


def report_metrics(
    ctx: ServiceContext, actor: Actor, run_id: str, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Add metric points to a run, registered or still training (operators); returns how many
    were new (steps already on record are skipped)."""
    require_role(actor, Role.OPERATOR)
    parse_slug(run_id, "run id")
    points = m.parse_metric_points(rows)
    with ctx.db.transaction() as conn:
        known = {p["step"] for p in repo.metric_rows(conn, run_id)}
        fresh = [p for p in points if p["step"] not in known]
        for i in range(0, len(fresh), METRICS_BATCH):
            record(conn, ctx, actor, [m.RunMetricsReported(run_id, fresh[i : i + METRICS_BATCH])])
        return len(fresh)


def register_run_dir(
    ctx: ServiceContext,
    actor: Actor,
    store: ArtifactStore,
    out_dir: Path,
    job_id: str | None = None,
) -> RunView:
    """Register the run whose output is in ``out_dir`` (run manifest, order file, metrics):
    the manifest and order file go to the artifact store, their hashes on the record, with the
    job's project, award and containment level (operators)."""
    out = Path(out_dir)
    raw = _read(out / MANIFEST_FILE)
    try:
        manifest = json.loads(raw)
    except json.JSONDecodeError as e:
        raise InvalidInputError(f"{out / MANIFEST_FILE} is not JSON: {e}") from e
    order_path = order_file(out, manifest)
    order_sha = sha256_file(order_path)
    claimed = manifest.get("order_sha256")
    if claimed is not None and claimed != order_sha:
        raise InvalidInputError(
            f"order file {order_path.name} hashes to {order_sha}, the run manifest says {claimed}"
        )
    job = jobs.get_job(ctx, job_id) if job_id else None
    manifest_sha = store.put_bytes(raw)
    store.put_file(order_path)
    event = m.run_from_manifest(
        manifest,
        run_id=run_id_for_job(job_id) if job_id else f"run-{manifest_sha[:12]}",
        manifest_sha256=manifest_sha,
        order_sha256=order_sha,
        job_id=job_id,
        project_id=job.project_id if job else None,
        award_id=job.award_id if job else None,
        containment=job.containment if job else str(manifest.get("containment", "CL-1")),
    )
    for d in event.datasets:
        if not store.exists(d["manifest_sha256"]):
            raise InvalidInputError(
                f"dataset {d['dataset']}@{d['version']}: manifest {d['manifest_sha256']} is not "
                "in the artifact store (register the dataset first)"
            )
    return record_run(ctx, actor, event, read_metrics(out / METRICS_FILE))


def order_file(out: Path, manifest: Mapping[str, Any]) -> Path:
    """The order file of a run output: named in the manifest, else a known file name."""
    named = manifest.get("order_file")
    if isinstance(named, Mapping):
        named = named.get("path")
    candidates = [named] if isinstance(named, str) else list(ORDER_FILES)
    for name in candidates:
        path = out / Path(name).name
        if path.is_file():
            return path
    raise InvalidInputError(f"{out} has no order file (looked for {', '.join(candidates)})")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The rows of a metrics.jsonl file (none when it does not exist)."""
    if not path.is_file():
        return []
    rows = []
    for i, line in enumerate(path.read_text().splitlines()):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise InvalidInputError(f"{path} line {i + 1} is not JSON: {e}") from e
    return rows


def read_metrics_partial(path: Path) -> list[dict[str, Any]]:
    """The complete rows of a metrics file still being written (a cut last line is left out)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    complete = text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(
            f"{path} does not exist: is this a training run's output?"
        ) from None


def run_view(row: Mapping[str, Any], models: list[str] | None = None) -> RunView:
    """The public view of a run row."""
    fields = {k: v for k, v in row.items() if k in RunView.model_fields}
    return RunView(**fields, models=models or [])
