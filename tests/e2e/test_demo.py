"""`pnyx demo` end to end through the real CLI process, twice (it must be idempotent)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.integration.backends.slurm_support import cluster_env

pytestmark = pytest.mark.slow


def run_demo(data: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "pnyx.cli", "demo", "--data", str(data), "--json", *extra],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_demo_builds_a_verifiable_facility_and_is_idempotent(tmp_path: Path) -> None:
    first = run_demo(tmp_path / "demo")
    assert first["accelerators"] == 100_000
    assert first["replay_ok"] is True
    ledger = first["ledger"]
    assert isinstance(ledger, dict)
    assert ledger["verify_ok"] is True, ledger["verify_error"]
    assert ledger["checkpoint_size"] == first["events"]
    council = first["council"]
    assert isinstance(council, dict)
    outcomes = [r["status"] for r in council["resolutions"]]
    assert "passed" in outcomes and "failed" in outcomes
    check_jobs_and_model(first, "local")
    second = run_demo(tmp_path / "demo")
    assert second["events"] == first["events"]
    assert second["ledger"] == first["ledger"]


def check_jobs_and_model(result: dict[str, object], backend: str) -> None:
    """The demo's jobs ran on ``backend`` to their expected ends; its model was released."""
    runs = result["jobs"]
    assert isinstance(runs, dict)
    assert runs["backend"] == backend and runs["all_final"] is True
    ends = {j["name"].rsplit("-", 1)[-1]: (j["state"], j["exit_code"]) for j in runs["jobs"]}
    assert ends == {
        "hello": ("succeeded", 0),
        "slots": ("succeeded", 0),
        "steps": ("succeeded", 0),
        "fails": ("failed", 3),
    }
    model = result["model"]
    assert isinstance(model, dict)
    assert model["released"] is True and model["params"] > 1_000_000
    assert model["datasets"] == ["stdlib-code@1", "python-docs@1"]
    assert model["perplexity"] > 1 and 0 <= model["mc_acc"] <= 1


@pytest.mark.slurm
def test_demo_runs_its_jobs_and_training_on_slurm(tmp_path: Path) -> None:
    """`pnyx demo --backend slurm`: the same jobs, and the model's training job, on the dev
    cluster (the environment names it: deploy/slurm/dev-cluster.sh env, as `make test` sets)."""
    env = {**os.environ, **cluster_env()}  # starts the cluster when the environment has none
    result = run_demo(tmp_path / "demo", "--backend", "slurm", env=env)
    check_jobs_and_model(result, "slurm")
    ledger = result["ledger"]
    assert isinstance(ledger, dict) and ledger["verify_ok"] is True


def test_demo_refuses_an_unusable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = subprocess.run(
        [sys.executable, "-m", "pnyx.cli", "demo", "--data", str(blocker)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
