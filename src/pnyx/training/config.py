"""The training configuration: JSON or YAML in, a resolved, frozen :class:`RunConfig` out.

A config file::

    {"model": {"preset": "demo", "num_layers": 4},          # preset + overrides (model.py)
     "data": {"artifact_root": "DATA/artifacts",
              "datasets": [{"manifest": "<sha256 of the manifest artifact>"},
                           {"manifest_path": "v1.json"}],
              "seq_len": 256},
     "tokenizer": {"path": null, "vocab_size": 4096},       # null: train BPE on the data
     "optim": {"lr": 3e-3, "warmup_steps": 10, ...},        # engine.OptimConfig
     "train": {"steps": 200, "micro_batch": 8, "grad_accum": 1, "seed": 0,
               "precision": "auto", "compile": false, "parallel": "auto",
               "checkpoint_every": 100, "keep_checkpoints": 2, "device": "auto"},
     "links": {"job_id": null, "award_id": null, "resolution_id": null, "project_id": null}}

Relative paths are resolved against the config file's folder. Links missing from the file are
taken from the environment (``PNYX_JOB_ID``, ``PNYX_AWARD_ID``, ``PNYX_RESOLUTION_ID``,
``PNYX_PROJECT_ID``). ``resolved()`` is what the run manifest and checkpoints record.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pnyx.errors import InvalidInputError
from pnyx.training.engine import PRECISIONS, OptimConfig
from pnyx.training.model import PRESETS, ModelConfig

PARALLEL = ("auto", "none", "ddp", "fsdp")
LINK_ENV = {
    "job_id": "PNYX_JOB_ID",
    "award_id": "PNYX_AWARD_ID",
    "resolution_id": "PNYX_RESOLUTION_ID",
    "project_id": "PNYX_PROJECT_ID",
}


@dataclass(frozen=True)
class DatasetRef:
    """One dataset version: its manifest by artifact hash, or by a file path."""

    manifest: str | None = None
    manifest_path: str | None = None


@dataclass(frozen=True)
class DataConfig:
    """Where the shards are and how documents become training sequences."""

    artifact_root: str = ""
    datasets: tuple[DatasetRef, ...] = ()
    seq_len: int = 256


@dataclass(frozen=True)
class TokenizerConfig:
    """An existing tokenizer (a folder or tokenizer.json) or BPE trained on the data."""

    path: str | None = None
    vocab_size: int = 4096
    min_frequency: int = 2


@dataclass(frozen=True)
class TrainConfig:
    """The loop: steps, batch, seed, precision, compile, parallelism, checkpoints."""

    steps: int = 100
    micro_batch: int = 8
    grad_accum: int = 1
    seed: int = 0
    precision: str = "auto"  # auto: bf16-mixed on CUDA, fp32 on CPU
    compile: bool = False
    parallel: str = "auto"  # auto: ddp when world size > 1
    checkpoint_every: int = 0  # 0: only at the end
    keep_checkpoints: int = 2
    log_every: int = 1
    device: str = "auto"
    peak_flops: float | None = None  # overrides the device table (model.peak_flops)
    threads: int = 0  # torch CPU threads; 0 leaves torch's default


@dataclass(frozen=True)
class Links:
    """Pass-through references to the facility's record (never looked up here)."""

    job_id: str | None = None
    award_id: str | None = None
    resolution_id: str | None = None
    project_id: str | None = None


@dataclass(frozen=True)
class RunConfig:
    """A whole, resolved training configuration."""

    model: ModelConfig
    model_preset: str | None
    data: DataConfig
    tokenizer: TokenizerConfig
    optim: OptimConfig
    train: TrainConfig
    links: Links = field(default_factory=Links)

    def resolved(self) -> dict[str, Any]:
        """The JSON-able resolved configuration (what manifests and checkpoints record)."""
        out: dict[str, Any] = dataclasses.asdict(self)
        out["data"]["datasets"] = [dataclasses.asdict(d) for d in self.data.datasets]
        return out


def _build(cls: Any, raw: Any, where: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInputError(f"training config: {where} must be an object")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidInputError(
            f"training config: unknown key(s) in {where}: {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )
    try:
        return cls(**raw)
    except TypeError as e:
        raise InvalidInputError(f"training config: {where}: {e}") from e


def _abs(path: str | None, base: Path | None) -> str | None:
    if path is None or path == "" or base is None or Path(path).is_absolute():
        return path
    return str((base / path).resolve())


def parse_config(
    raw: dict[str, Any], base: Path | None = None, env: dict[str, str] | None = None
) -> RunConfig:
    """A validated RunConfig from a parsed file; paths relative to ``base``."""
    if not isinstance(raw, dict):
        raise InvalidInputError("training config must be an object")
    unknown = sorted(set(raw) - {"model", "data", "tokenizer", "optim", "train", "links"})
    if unknown:
        raise InvalidInputError(f"training config: unknown section(s): {', '.join(unknown)}")
    model_raw = dict(raw.get("model") or {})
    preset = model_raw.pop("preset", None)
    if preset is not None and preset not in PRESETS:
        raise InvalidInputError(
            f"training config: unknown model preset {preset!r}; known: {', '.join(PRESETS)}"
        )
    base_model = PRESETS[preset] if preset else ModelConfig()
    model = _build(ModelConfig, {**dataclasses.asdict(base_model), **model_raw}, "model")

    data_raw = dict(raw.get("data") or {})
    refs = []
    for i, d in enumerate(data_raw.pop("datasets", []) or []):
        ref = _build(DatasetRef, d, f"data.datasets[{i}]")
        if (ref.manifest is None) == (ref.manifest_path is None):
            raise InvalidInputError(
                f"training config: data.datasets[{i}] needs exactly one of manifest "
                "(an artifact sha256) or manifest_path"
            )
        refs.append(dataclasses.replace(ref, manifest_path=_abs(ref.manifest_path, base)))
    data = _build(DataConfig, data_raw, "data")
    data = dataclasses.replace(
        data, datasets=tuple(refs), artifact_root=_abs(data.artifact_root, base) or ""
    )
    tok = _build(TokenizerConfig, raw.get("tokenizer"), "tokenizer")
    tok = dataclasses.replace(tok, path=_abs(tok.path, base))
    optim = _build(OptimConfig, raw.get("optim"), "optim")
    train = _build(TrainConfig, raw.get("train"), "train")
    links = _build(Links, raw.get("links"), "links")
    environ = os.environ if env is None else env
    links = Links(**{k: getattr(links, k) or environ.get(v) or None for k, v in LINK_ENV.items()})
    cfg = RunConfig(model, preset, data, tok, optim, train, links)
    _validate(cfg)
    return cfg


def _validate(cfg: RunConfig) -> None:
    t, d = cfg.train, cfg.data
    checks = [
        (t.steps >= 1, "train.steps must be >= 1"),
        (t.micro_batch >= 1 and t.grad_accum >= 1, "train.micro_batch/grad_accum must be >= 1"),
        (t.precision == "auto" or t.precision in PRECISIONS,
         f"train.precision must be auto or one of {', '.join(PRECISIONS)}"),
        (t.parallel in PARALLEL, f"train.parallel must be one of {', '.join(PARALLEL)}"),
        (d.seq_len >= 2, "data.seq_len must be >= 2"),
        (d.seq_len <= cfg.model.max_seq_len, "data.seq_len exceeds model.max_seq_len"),
        (bool(d.datasets), "data.datasets must name at least one dataset version"),
        (bool(d.artifact_root), "data.artifact_root is required"),
        (cfg.model.hidden_size % cfg.model.num_heads == 0,
         "model.hidden_size must be a multiple of model.num_heads"),
        (cfg.model.num_heads % cfg.model.num_kv_heads == 0,
         "model.num_heads must be a multiple of model.num_kv_heads"),
    ]  # fmt: skip
    for ok, message in checks:
        if not ok:
            raise InvalidInputError(f"training config: {message}")


def load_config(path: Path, env: dict[str, str] | None = None) -> RunConfig:
    """Read a JSON (``.json``) or YAML (``.yaml``/``.yml``) training config."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidInputError(f"cannot read training config {path}: {e}") from e
    if path.suffix in (".yaml", ".yml"):
        import yaml  # optional: only YAML configs need PyYAML

        raw = yaml.safe_load(text)
    else:
        try:
            raw = json.loads(text)
        except ValueError as e:
            raise InvalidInputError(f"training config {path} is not JSON: {e}") from e
    return parse_config(raw, base=path.parent.resolve(), env=env)


def from_resolved(resolved: dict[str, Any]) -> RunConfig:
    """The RunConfig recorded by :meth:`RunConfig.resolved` (in checkpoints)."""
    raw = json.loads(json.dumps(resolved))
    preset = raw.pop("model_preset", None)
    raw["model"] = dict(raw["model"], preset=preset) if preset else raw["model"]
    raw["data"]["datasets"] = [
        {k: v for k, v in d.items() if v is not None} for d in raw["data"]["datasets"]
    ]
    return parse_config(raw, env={})


def demo_config(
    artifact_root: str, manifests: list[str], *, steps: int = 24, threads: int = 1
) -> dict[str, Any]:
    """The demo's training config: a 2.5 M-parameter Llama ("demo" preset) on CPU.

    ``manifests`` are dataset-version manifest hashes in the artifact store at
    ``artifact_root``. 24 steps of 8 x 256 tokens (49k tokens), one torch thread (two threads
    on a busy 2-core machine run several times slower than one). Figures: docs/benchmarks.md,
    Training.
    """
    return {
        "model": {"preset": "demo"},
        "data": {
            "artifact_root": artifact_root,
            "datasets": [{"manifest": m} for m in manifests],
            "seq_len": 256,
        },
        "tokenizer": {"vocab_size": 2048},
        "optim": {"lr": 3e-3, "warmup_steps": 5, "min_lr_ratio": 0.1},
        "train": {
            "steps": steps,
            "micro_batch": 8,
            "grad_accum": 1,
            "seed": 0,
            "precision": "fp32",
            "checkpoint_every": 0,
            "keep_checkpoints": 1,
            "device": "cpu",
            "threads": threads,
        },
    }
