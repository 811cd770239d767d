"""The run manifest: what a run was made of, so its model can be traced back to its data.

``run_manifest.json`` (written at the start, at each checkpoint and at the end)::

    {"run_manifest": 1, "status": "running" | "stopped" | "completed",
     "links": {"job_id", "award_id", "resolution_id", "project_id"},
     "datasets": [{"dataset", "version", "manifest_sha256", "modality", "license", "records",
                   "shards": [{"sha256", "bytes", "records"}]}],
     "tokenizer": {"sha256" (of tokenizer.json), "vocab_size", "source": "trained" | path},
     "code_version": "pnyx 0.1.0 (git <commit>)", "code": {"pnyx", "git_commit", "torch", ...},
     "config": <resolved training config>, "seeds": {"model_init", "data_order"},
     "world_size", "parallel", "precision", "hardware": {...},
     "order_file": "order.jsonl", "order_sha256", "metrics_file": "metrics.jsonl",
     "steps", "tokens", "params", "flops_per_token", "final_loss",
     "checkpoint": {"step", "path", "model_sha256"}, "resumed_at": [steps], "started_at",
     "updated_at", "wall_s"}
"""

from __future__ import annotations

import json
import os
import platform
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tokenizers
import torch
import transformers

import pnyx

RUN_MANIFEST_FORMAT = 1


def git_commit() -> str | None:
    """The commit of the checkout pnyx runs from (``PNYX_CODE_COMMIT`` wins), or None."""
    env = os.environ.get("PNYX_CODE_COMMIT")
    if env:
        return env
    for parent in Path(pnyx.__file__).resolve().parents:
        git = parent / ".git"
        if git.is_dir():
            return _read_head(git)
    return None


def _read_head(git: Path) -> str | None:
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head or None
        ref = head[5:]
        loose = git / ref
        if loose.is_file():
            return loose.read_text(encoding="utf-8").strip()
        packed = git / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    except OSError:
        return None
    return None


def code_info() -> dict[str, Any]:
    """Versions of pnyx (with its git commit when known) and of the libraries it trains with."""
    return {
        "pnyx": pnyx.__version__,
        "git_commit": git_commit(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "python": platform.python_version(),
    }


def code_version(info: dict[str, Any]) -> str:
    """One-line code version, e.g. ``pnyx 0.1.0 (git 517bafe...)``."""
    commit = info.get("git_commit")
    return f"pnyx {info['pnyx']}" + (f" (git {commit})" if commit else "")


def hardware_info(device: torch.device, world_size: int) -> dict[str, Any]:
    """The hardware a run used: accelerator name, count (world size), host."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"cpu ({platform.processor() or platform.machine()})"
    return {
        "device": name,
        "device_type": device.type,
        "world_size": world_size,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
    }


def now_iso() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` atomically (write, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
