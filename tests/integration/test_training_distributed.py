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
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
           "2", "-m", "pnyx.training.run", "--config", str(cfg), "--out", str(out), *extra]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_ddp_and_fsdp2_with_two_processes(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    sha = make_dataset(root, documents(40))
    # Same global batch three ways: 1 process x 2 micro-batches, DDP and FSDP2 2 x 1.
    single = write_config(tmp_path / "single.json", root, sha, grad_accum=2)
    ddp = write_config(tmp_path / "ddp.json", root, sha, grad_accum=1, parallel="ddp")
    fsdp = write_config(tmp_path / "fsdp.json", root, sha, grad_accum=1, parallel="fsdp")
    assert main(["--config", str(single), "--out", str(tmp_path / "single")]) == 0
    _torchrun(ddp, tmp_path / "ddp")
    _torchrun(fsdp, tmp_path / "fsdp", "--stop-after", "3")
    _torchrun(fsdp, tmp_path / "fsdp")  # resumes from step 3

    for name, parallel in (("ddp", "ddp"), ("fsdp", "fsdp")):
        manifest = json.loads((tmp_path / name / "run_manifest.json").read_text())
        assert manifest["world_size"] == 2 and manifest["parallel"] == parallel
        assert manifest["status"] == "completed"
        assert manifest["links"]["resolution_id"] == "res-3"
    assert json.loads((tmp_path / "fsdp" / "run_manifest.json").read_text())["resumed_at"] == [3]
    order = (tmp_path / "single" / "order.jsonl").read_bytes()
    assert (tmp_path / "ddp" / "order.jsonl").read_bytes() == order
    assert (tmp_path / "fsdp" / "order.jsonl").read_bytes() == order
    ref = losses(tmp_path / "single")
    for name in ("ddp", "fsdp"):
        got = losses(tmp_path / name)
        assert len(got) == len(ref) == 6
        assert all(math.isclose(a, b, rel_tol=1e-4) for a, b in zip(got, ref, strict=True))
    # the FSDP2 model gathers into an ordinary HF folder
    assert (tmp_path / "fsdp" / "model" / "model.safetensors").is_file()
