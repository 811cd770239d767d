"""Runs, model versions, evaluation reports and releases: events and the pure rules over them.

A **run** is what a training job produced: its run manifest (dataset versions and shard hashes,
code version, config, seeds, world size, hardware, order-file hash) is stored as an artifact and
its hash recorded here, with the links to the job, award and resolution. A **model version**
(``NAME@N``) points at one run, so its lineage reads run > dataset versions > award >
resolution. A **release** makes a model version public after the gate of its containment level
(:func:`check_release`) passed. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pnyx.domain.containment import ContainmentLevel
from pnyx.domain.events import Event, event_type
from pnyx.domain.ids import parse_slug
from pnyx.errors import ConflictError, InvalidInputError, PermissionDeniedError

# Suites an evaluation report can carry; release of CL-1/CL-2 models needs all of them.
HELDOUT_SUITE = "heldout-perplexity"
MC_SUITE = "multiple-choice"
REQUIRED_SUITES = (HELDOUT_SUITE, MC_SUITE)

_VERSION_ID = re.compile(r"^([a-z0-9][a-z0-9._-]{0,62})@([1-9][0-9]{0,8})$")
_DATASET_REF = re.compile(r"^([a-z0-9][a-z0-9._-]{0,62})@([1-9][0-9]{0,8})$")


# --- events -----------------------------------------------------------------------------------


@event_type
@dataclass(frozen=True)
class RunRegistered(Event):
    """A training run's outcome is put on the record.

    ``datasets`` rows: {"dataset", "version", "manifest_sha256"}; ``manifest_sha256`` names the
    run manifest artifact, ``order_sha256`` the order file (global sample indices per step).
    """

    KIND = "run.registered"
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
    datasets: list[dict[str, Any]]


@event_type
@dataclass(frozen=True)
class RunMetricsReported(Event):
    """A batch of a run's training metrics; ``points`` rows: step, loss, tokens_per_s, mfu, lr."""

    KIND = "run.metrics_reported"
    run_id: str
    points: list[dict[str, Any]]


@event_type
@dataclass(frozen=True)
class ModelVersionRegistered(Event):
    """A model version with its lineage, weight files (path, sha256, bytes) and card hash."""

    KIND = "model.version_registered"
    model: str
    version: int
    run_id: str
    license: str
    containment: str
    params: int
    description: str
    lineage: dict[str, Any]
    files: list[dict[str, Any]]
    card_sha256: str


@event_type
@dataclass(frozen=True)
class ModelEvaluated(Event):
    """An evaluation report (stored as an artifact) and its headline metrics."""

    KIND = "model.evaluated"
    model: str
    version: int
    suite: str
    report_sha256: str
    metrics: dict[str, Any]


@event_type
@dataclass(frozen=True)
class ModelReleased(Event):
    """A model version becomes public; ``gate`` lists the checks it passed."""

    KIND = "model.released"
    model: str
    version: int
    containment: str
    gate: list[str]
    resolution_id: str | None
    card_sha256: str


@event_type
@dataclass(frozen=True)
class ModelDownloaded(Event):
    """Someone fetched the weights of a model version that is not public (yet)."""

    KIND = "model.downloaded"
    model: str
    version: int
    containment: str


# --- identifiers ------------------------------------------------------------------------------


def format_version_id(model: str, version: int) -> str:
    """The id of a model version: ``NAME@N``."""
    return f"{model}@{version}"


def parse_version_id(value: str) -> tuple[str, int]:
    """(model, version) from ``NAME@N``, else InvalidInputError naming the expected shape."""
    m = _VERSION_ID.match(value.strip()) if isinstance(value, str) else None
    if m is None:
        raise InvalidInputError(f"model version id {value!r} is not NAME@N (e.g. pnyx-demo-lm@1)")
    return m.group(1), int(m.group(2))


def parse_dataset_ref(value: str) -> tuple[str, int]:
    """(dataset, version) from ``NAME@N``."""
    m = _DATASET_REF.match(value.strip()) if isinstance(value, str) else None
    if m is None:
        raise InvalidInputError(f"dataset reference {value!r} is not NAME@N (e.g. pydocs@1)")
    return m.group(1), int(m.group(2))


def parse_model_name(value: str) -> str:
    """A model name (a slug)."""
    return parse_slug(value, "model name")


# --- release gate -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseFacts:
    """What the release gate looks at, gathered by the service."""

    model: str
    version: int
    containment: ContainmentLevel
    released: bool
    suites: frozenset[str]  # evaluation suites with a report on record
    weights_open: bool | None  # the award's openness commitment; None: no award on record
    data_open: bool | None
    approvals: Sequence[tuple[str, str]]  # (resolution id, level) approving this model's release
    card_sha256: str


def check_release(facts: ReleaseFacts) -> ModelReleased:
    """The release event if the gate of the model's containment level passes, else raise.

    CL-1/CL-2: every required evaluation suite has a report, and the award committed to open
    weights and open data. CL-3/CL-4: additionally a passed ``approve-release`` Council
    resolution for this model at (at least) its level.
    """
    vid = format_version_id(facts.model, facts.version)
    if facts.released:
        raise ConflictError(f"model version {vid} is already released")
    missing = [s for s in REQUIRED_SUITES if s not in facts.suites]
    if missing:
        raise ConflictError(
            f"release of {vid} refused: evaluation report(s) missing: {', '.join(missing)} "
            "(run `pnyx model evaluate` first)"
        )
    if facts.weights_open is None:
        raise PermissionDeniedError(
            f"release of {vid} refused: its run has no award, so no openness commitment is on "
            "record"
        )
    if not (facts.weights_open and facts.data_open):
        raise PermissionDeniedError(
            f"release of {vid} refused: the award did not commit to open weights and open data "
            f"(weights_open={facts.weights_open}, data_open={facts.data_open})"
        )
    gate = [f"eval:{s}" for s in REQUIRED_SUITES] + ["openness:weights+data"]
    resolution_id = None
    if facts.containment.rank >= 3:
        resolution_id = _approving_resolution(facts, vid)
        gate.append(f"council:{resolution_id}")
    return ModelReleased(
        model=facts.model,
        version=facts.version,
        containment=str(facts.containment),
        gate=gate,
        resolution_id=resolution_id,
        card_sha256=facts.card_sha256,
    )


def _approving_resolution(facts: ReleaseFacts, vid: str) -> str:
    rank = facts.containment.rank
    for resolution_id, level in sorted(facts.approvals):
        if ContainmentLevel(level).rank >= rank:
            return resolution_id
    raise PermissionDeniedError(
        f"release of {vid} refused: {facts.containment} needs a passed approve-release Council "
        f"resolution for model {facts.model!r} at {facts.containment} or above; none is on record"
    )


# --- lineage and metrics ----------------------------------------------------------------------


def lineage_of(run: Mapping[str, Any]) -> dict[str, Any]:
    """The lineage of a model trained by ``run`` (a run row): run > datasets > award >
    resolution."""
    return {
        "run_id": run["run_id"],
        "job_id": run["job_id"],
        "run_manifest_sha256": run["manifest_sha256"],
        "order_sha256": run["order_sha256"],
        "datasets": [
            {
                "dataset": d["dataset"],
                "version": d["version"],
                "manifest_sha256": d["manifest_sha256"],
            }
            for d in run["datasets"]
        ],
        "project_id": run["project_id"],
        "award_id": run["award_id"],
        "resolution_id": run["resolution_id"],
    }


_METRIC_KEYS = ("step", "loss", "tokens_per_s", "mfu", "lr")


def parse_metric_points(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Metric rows (from metrics.jsonl) as event points, step-ordered, floats rounded to 6
    significant digits so the record stays small; refuses rows without a step or loss."""
    points: dict[int, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        if "step" not in row or "loss" not in row:
            raise InvalidInputError(f"metrics row {i} has no step or loss: {dict(row)}")
        step = int(row["step"])
        if step < 0:
            raise InvalidInputError(f"metrics row {i}: step {step} is negative")
        point: dict[str, Any] = {"step": step}
        for key in _METRIC_KEYS[1:]:
            value = row.get(key)
            point[key] = None if value is None else _round6(float(value))
        points[step] = point
    return [points[s] for s in sorted(points)]


def _round6(value: float) -> float:
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInputError(f"metric value {value} is not a finite number")
    return float(f"{value:.6g}")


# --- run manifests ----------------------------------------------------------------------------


def run_from_manifest(
    manifest: Mapping[str, Any],
    *,
    run_id: str,
    manifest_sha256: str,
    order_sha256: str,
    job_id: str | None,
    project_id: str | None,
    award_id: str | None,
    containment: str,
) -> RunRegistered:
    """The ``run.registered`` event of a run manifest written by the training recipe.

    The job, award and resolution recorded in the manifest must agree with the job's (when
    given): a run cannot claim another job's lineage.
    """
    status = manifest.get("status", "completed")
    if status != "completed":
        raise ConflictError(f"the run is {status}, not completed: register it when it has ended")
    datasets = [_manifest_dataset(d) for d in _need_list(manifest, "datasets")]
    links = manifest.get("links") or {}
    if not isinstance(links, Mapping):
        raise InvalidInputError("run manifest 'links' must be an object")
    for key, known in (("job_id", job_id), ("award_id", award_id), ("project_id", project_id)):
        claimed = links.get(key)
        if known is not None and claimed is not None and not _same(key, str(claimed), known):
            raise InvalidInputError(f"run manifest says {key} {claimed!r}, the job says {known!r}")
    hardware = manifest.get("hardware", "unknown")
    return RunRegistered(
        run_id=run_id,
        job_id=job_id or _opt_str(links.get("job_id")),
        project_id=project_id or _opt_str(links.get("project_id")),
        award_id=award_id or _opt_str(links.get("award_id")),
        resolution_id=_opt_str(links.get("resolution_id")),
        containment=containment,
        manifest_sha256=manifest_sha256,
        order_sha256=order_sha256,
        code_version=str(manifest.get("code_version", "unknown"))[:80],
        world_size=int(manifest.get("world_size", 1)),
        hardware=_hardware_text(hardware)[:200],
        steps=int(manifest.get("steps", _config_steps(manifest))),
        config=dict(manifest.get("config", {})),
        datasets=datasets,
    )


def _same(key: str, claimed: str, known: str) -> bool:
    """Whether a manifest's link names the job's: an engine sees a job id as its run key
    ``NAMESPACE-ID`` or ``NAMESPACE-ID.rN`` (pnyx.services.dispatch.run_key)."""
    if key != "job_id":
        return claimed == known
    return re.fullmatch(rf"(?:.+-)?{re.escape(known)}(?:\.r[0-9]+)?", claimed) is not None


def _need_list(manifest: Mapping[str, Any], key: str) -> list[Any]:
    value = manifest.get(key)
    if not isinstance(value, list) or not value:
        raise InvalidInputError(f"run manifest has no {key!r} list")
    return value


def _manifest_dataset(d: Any) -> dict[str, Any]:
    if isinstance(d, str):
        raise InvalidInputError(f"run manifest dataset {d!r} has no manifest hash")
    name = d.get("dataset", d.get("name"))
    version = d.get("version")
    if isinstance(name, str) and "@" in name and version is None:
        name, version = parse_dataset_ref(name)
    sha = d.get("manifest_sha256", d.get("manifest"))
    if not isinstance(name, str) or not isinstance(version, int) or not isinstance(sha, str):
        raise InvalidInputError(f"run manifest dataset entry is incomplete: {dict(d)}")
    return {"dataset": name, "version": version, "manifest_sha256": sha}


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _hardware_text(hardware: Any) -> str:
    if isinstance(hardware, Mapping):
        return ", ".join(f"{k}={hardware[k]}" for k in sorted(hardware))
    return str(hardware)


def _config_steps(manifest: Mapping[str, Any]) -> int:
    config = manifest.get("config", {})
    for key in ("steps", "max_steps", "total_steps"):
        if isinstance(config, Mapping) and isinstance(config.get(key), int):
            return int(config[key])
    return 0
