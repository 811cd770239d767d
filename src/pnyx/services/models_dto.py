"""What the run and model services return (also the API's response schemas)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class RunDataset(BaseModel):
    """A dataset version a run trained on."""

    model_config = ConfigDict(frozen=True)
    dataset: str
    version: int
    manifest_sha256: str


class RunView(BaseModel):
    """A registered training run: provenance, links and the last reported loss."""

    model_config = ConfigDict(frozen=True)
    run_id: str
    job_id: str | None
    project_id: str | None
    award_id: str | None
    resolution_id: str | None
    containment: str
    manifest_sha256: str
    order_sha256: str
    code_version: str
    world_size: int
    hardware: str
    steps: int
    config: dict[str, Any]
    datasets: list[RunDataset]
    metric_points: int
    last_step: int | None
    last_loss: float | None
    registered_at: str
    models: list[str] = []  # model version ids trained by this run


class MetricPoint(BaseModel):
    """One step's training metrics."""

    model_config = ConfigDict(frozen=True)
    step: int
    loss: float | None
    tokens_per_s: float | None
    mfu: float | None
    lr: float | None


class ModelFile(BaseModel):
    """A file of a model version's HF-format directory."""

    model_config = ConfigDict(frozen=True)
    path: str
    sha256: str
    bytes: int


class EvalReportView(BaseModel):
    """An evaluation report's headline metrics and the artifact holding it all."""

    model_config = ConfigDict(frozen=True)
    suite: str
    report_sha256: str
    metrics: dict[str, Any]
    evaluated_at: str


class ModelVersionView(BaseModel):
    """A model version: lineage, files, evaluations and release state."""

    model_config = ConfigDict(frozen=True)
    id: str  # NAME@N
    model: str
    version: int
    run_id: str
    license: str
    containment: str
    params: int
    description: str
    lineage: dict[str, Any]
    files: list[ModelFile]
    card_sha256: str
    released: bool
    released_at: str | None
    release_gate: list[str] | None
    release_resolution_id: str | None
    downloads: int
    registered_at: str
    evaluations: list[EvalReportView] = []


class DownloadView(BaseModel):
    """What a download wrote: the directory, its files and that every checksum matched."""

    model_config = ConfigDict(frozen=True)
    id: str
    out: str
    files: list[ModelFile]
    verified: bool
    recorded: bool  # True when the download was recorded on the ledger (non-public model)
