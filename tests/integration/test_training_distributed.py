"""The recipe under torchrun on CPU (gloo): DDP and FSDP2 with two processes."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from training_setup import documents, losses, make_dataset, write_config

from pnyx.training.run import main

pytestmark = pytest.mark.slow


def _torchrun(cfg: Path, out: Path, *extra: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PNYX_RESOLUTION_ID": "res-3"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    recipe = ["-m", "pnyx.training.run", "--config", str(cfg), "--out", str(out), *extra]
    cmd = [*launcher, "--nproc-per-node", "2", *recipe]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=280, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _single(tmp_path: Path) -> tuple[Path, str, Path]:
    """A dataset and a one-process run with the same global batch (2 micro-batches)."""
    root = tmp_path / "artifacts"
    sha = make_dataset(root, documents(40))
    single = write_config(tmp_path / "single.json", root, sha, grad_accum=2)
    assert main(["--config", str(single), "--out", str(tmp_path / "single")]) == 0
    return root, sha, tmp_path / "single"


def _check_against_single(out: Path, single: Path, parallel: str) -> None:
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["world_size"] == 2 and manifest["parallel"] == parallel
    assert manifest["status"] == "completed"
    assert manifest["links"]["resolution_id"] == "res-3"
    assert (out / "order.jsonl").read_bytes() == (single / "order.jsonl").read_bytes()
    ref, got = losses(single), losses(out)
    assert len(got) == len(ref) == 6
    assert all(math.isclose(a, b, rel_tol=1e-4) for a, b in zip(got, ref, strict=True))
    assert (out / "model" / "model.safetensors").is_file()  # gathered into an HF folder


def test_ddp_two_processes_match_one_process(tmp_path: Path) -> None:
    root, sha, single = _single(tmp_path)
    ddp = write_config(tmp_path / "ddp.json", root, sha, grad_accum=1, parallel="ddp")
    _torchrun(ddp, tmp_path / "ddp")
    _check_against_single(tmp_path / "ddp", single, "ddp")


def test_fsdp2_two_processes_stop_resume_and_match(tmp_path: Path) -> None:
    root, sha, single = _single(tmp_path)
    fsdp = write_config(tmp_path / "fsdp.json", root, sha, grad_accum=1, parallel="fsdp")
    _torchrun(fsdp, tmp_path / "fsdp", "--stop-after", "3")
    _torchrun(fsdp, tmp_path / "fsdp")  # resumes from the step-3 checkpoint
    _check_against_single(tmp_path / "fsdp", single, "fsdp")
    manifest = json.loads((tmp_path / "fsdp" / "run_manifest.json").read_text())
    assert manifest["resumed_at"] == [3]
