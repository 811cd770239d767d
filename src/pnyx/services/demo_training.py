"""The model part of ``pnyx demo``: register open data, train a small model as a real job,
evaluate it, release it, and say how to load it.

1. The code and text demo corpora (CPython's standard library and its documentation, from
   Debian packages on this machine) become dataset versions, unless they are registered already.
2. A training job of an awarded project runs the reference recipe
   (``python -m pnyx.training.run --config FILE --out DIR``) on the engine the dispatcher
   places it on (the ``local`` backend in the demo); its metrics are streamed to the record
   while it trains.
3. The run (manifest, order file, metrics) and the model version (weights, tokenizer, card)
   are registered; the model is evaluated (held-out perplexity, multiple choice) and released
   through the gate of its containment level.

Running it again finds the released model and changes nothing.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pnyx.backends.base import Backend
from pnyx.data.artifacts import ArtifactStore
from pnyx.data.corpora import code_corpus, text_corpus
from pnyx.domain.identity import Actor, Role
from pnyx.domain.jobs import JobState
from pnyx.errors import ConflictError, NotFoundError, PnyxError
from pnyx.services import awards, datasets, evaluation, jobs, models, runs
from pnyx.services.allocation_dto import AwardView
from pnyx.services.context import ServiceContext
from pnyx.services.dispatch import DispatchConfig, DispatchState, dispatch_once
from pnyx.services.jobs_dto import JobRequest, JobView
from pnyx.services.models_dto import ModelVersionView

SYSTEM = Actor.system()
MODEL_NAME = "pnyx-demo-lm"
JOB_NAME = "demo-train-lm"
PREFERRED_PROJECT = "tiny-stories-eu"
# About 2.9 M parameters; 30 steps of 8 x 128 tokens take about a minute on two idle CPU cores.
DEMO_TRAINING: dict[str, Any] = {
    "model": {
        "preset": "tiny",
        "vocab_size": 4096,
        "hidden_size": 192,
        "intermediate_size": 512,
        "num_layers": 3,
        "num_heads": 4,
        "num_kv_heads": 4,
        "max_seq_len": 128,
    },
    "tokenizer": {"vocab_size": 4096},
    "optim": {"lr": 5e-3, "warmup_steps": 5},
    "train": {"steps": 30, "micro_batch": 8, "seed": 0, "log_every": 1},
}
Progress = Callable[[str], None]


def run_training_demo(
    ctx: ServiceContext,
    backends: Mapping[str, Backend],
    data_dir: Path,
    *,
    steps: int | None = None,
    timeout_s: float = 900.0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train, register, evaluate and release the demo model once; a summary."""
    say = progress or (lambda _msg: None)
    store = models.artifact_store(data_dir)
    released = _released(ctx)
    if released is not None:
        return summary(released, data_dir)
    refs = ensure_datasets(ctx, data_dir, say)
    job = _ensure_job(ctx, data_dir, refs, steps)
    say(f"training job {job.job_id} submitted; waiting for it")
    run_id = runs.run_id_for_job(job.job_id)
    job = _wait(ctx, backends, job.job_id, _out_dir(data_dir), run_id, timeout_s, say)
    if job.state != JobState.SUCCEEDED:
        raise PnyxError(f"training job {job.job_id} ended {job.state}: {job.state_reason}")
    try:
        run = runs.get_run(ctx, run_id)
    except NotFoundError:
        run = runs.register_run_dir(ctx, SYSTEM, store, _out_dir(data_dir), job.job_id)
    version = _ensure_version(ctx, store, run.run_id, _out_dir(data_dir))
    say(f"registered {version.id}; evaluating")
    if not version.evaluations:
        evaluation.evaluate_model(ctx, SYSTEM, store, version.id)
    version = models.release_model(ctx, SYSTEM, store, version.id)
    return summary(version, data_dir)


def ensure_datasets(ctx: ServiceContext, data_dir: Path, say: Progress) -> list[str]:
    """The demo's code and text dataset versions (``NAME@N``), registered when missing."""
    store = models.artifact_store(data_dir)
    known = {d.dataset: d.latest_version for d in datasets.list_datasets(ctx)}
    refs = []
    for maker in (code_corpus, text_corpus):
        corpus = maker(data_dir / "corpora" / maker.__name__.removesuffix("_corpus"))
        if corpus.name not in known:
            view = datasets.add_version(
                ctx, SYSTEM, store, corpus.name, corpus.path, corpus.modality,
                corpus.license, corpus.source,
            )  # fmt: skip
            known[corpus.name] = view.version
            say(f"registered dataset {corpus.name}@{view.version} ({view.records} documents)")
        refs.append(f"{corpus.name}@{known[corpus.name]}")
    return refs


def training_config(data_dir: Path, manifests: list[str], steps: int | None) -> dict[str, Any]:
    """The recipe's config for the demo run over the dataset manifests (artifact hashes)."""
    config: dict[str, Any] = json.loads(json.dumps(DEMO_TRAINING))
    config["data"] = {
        "artifact_root": str(models.artifact_store(data_dir).root.resolve()),
        "datasets": [{"manifest": sha} for sha in manifests],
        "seq_len": config["model"]["max_seq_len"],
    }
    if steps is not None:
        config["train"]["steps"] = steps
    return config


def _out_dir(data_dir: Path) -> Path:
    return (data_dir / "runs" / JOB_NAME).resolve()


def _ensure_job(ctx: ServiceContext, data_dir: Path, refs: list[str], steps: int | None) -> JobView:
    for view in jobs.list_jobs(ctx):
        if view.name == JOB_NAME and view.state not in (JobState.FAILED, JobState.CANCELLED):
            return view
    award = _award(ctx)
    manifests = [
        datasets.get_version(ctx, name, int(version)).manifest_sha256
        for name, version in (r.split("@") for r in refs)
    ]
    config_path = (data_dir / "runs" / f"{JOB_NAME}.json").resolve()
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(json.dumps(training_config(data_dir, manifests, steps), indent=2))
    request = JobRequest(
        name=JOB_NAME,
        project_id=award.project_id,
        award_id=award.award_id,
        command=[
            sys.executable, "-m", "pnyx.training.run",
            "--config", str(config_path), "--out", str(_out_dir(data_dir)),
        ],
        env={"PNYX_PROJECT_ID": award.project_id, "PNYX_AWARD_ID": award.award_id},
        accelerator_types=[t for t in ("h100", "h200") if award.hours.get(t, 0) > 0][:1],
        accelerators_per_node=1,
        time_limit_s=900,
        containment=award.containment,
        datasets=refs,
    )  # fmt: skip
    researcher = Actor(f"res-{award.member_id}", frozenset({Role.RESEARCHER}), award.member_id)
    return jobs.submit_job(ctx, researcher, request)


def _award(ctx: ServiceContext) -> AwardView:
    owners = [
        a
        for a in awards.list_awards(ctx)
        if a.containment in ("CL-1", "CL-2") and a.hours.get("h100", 0) > 0
    ]
    if not owners:
        raise ConflictError("no CL-1/CL-2 award with h100 hours: the demo trains under one")
    owners.sort(key=lambda a: (a.project_id != PREFERRED_PROJECT, a.award_id))
    return owners[0]


def _wait(
    ctx: ServiceContext,
    backends: Mapping[str, Backend],
    job_id: str,
    out: Path,
    run_id: str,
    timeout_s: float,
    say: Progress,
) -> JobView:
    """Dispatch until the job ends, streaming its metrics to the record."""
    state, config = DispatchState(), DispatchConfig()
    deadline = time.monotonic() + timeout_s
    reported = 0
    while True:
        view = jobs.get_job(ctx, job_id)
        rows = runs.read_metrics_partial(out / runs.METRICS_FILE)
        if len(rows) > reported:
            runs.report_metrics(ctx, SYSTEM, run_id, rows[reported:])
            reported = len(rows)
            last = rows[-1]
            say(f"step {last['step']}: loss {last['loss']:.3f}, {last['tokens_per_s']:.0f} tok/s")
        if JobState(view.state).final:
            return view
        if time.monotonic() > deadline:
            raise PnyxError(f"training job {job_id} did not end within {timeout_s:.0f} s")
        dispatch_once(ctx, SYSTEM, backends, state, config)
        time.sleep(0.5)


def _ensure_version(
    ctx: ServiceContext, store: ArtifactStore, run_id: str, out: Path
) -> ModelVersionView:
    view = runs.get_run(ctx, run_id)
    if view.models:
        return models.get_model(ctx, view.models[-1])
    return models.register_model_version(
        ctx, SYSTEM, store, run_id, out / "model", MODEL_NAME, "Apache-2.0",
        "A small Llama-family language model trained on pnyx's demo facility, as a real job, "
        "on CPython's standard library and its documentation (both PSF-2.0). It exists to "
        "show the path from open data to a released, traceable model.",
    )  # fmt: skip


def _released(ctx: ServiceContext) -> ModelVersionView | None:
    for view in models.list_models(ctx):
        if view.model == MODEL_NAME:
            return view
    return None


def summary(version: ModelVersionView, data_dir: Path) -> dict[str, Any]:
    """What the demo prints about its model."""
    metrics = {e.suite: e.metrics for e in version.evaluations}
    out = f"./{version.model}"
    return {
        "model": version.id,
        "params": version.params,
        "run": version.run_id,
        "job": version.lineage["job_id"],
        "datasets": [f"{d['dataset']}@{d['version']}" for d in version.lineage["datasets"]],
        "award": version.lineage["award_id"],
        "perplexity": metrics.get("heldout-perplexity", {}).get("perplexity"),
        "mc_acc": metrics.get("multiple-choice", {}).get("acc"),
        "released": version.released,
        "download": f"pnyx model download {version.id} --data {data_dir} --out {out}",
        "load": (
            "from transformers import AutoModelForCausalLM, AutoTokenizer; "
            f"m = AutoModelForCausalLM.from_pretrained({out!r}); "
            f"t = AutoTokenizer.from_pretrained({out!r})"
        ),
    }
