"""The Slurm cluster of deploy/slurm/dev-cluster.sh as the tests see it.

``make test`` and .ci/run start the cluster and export its ``PNYX_SLURM_*`` variables
(``deploy/slurm/dev-cluster.sh env``); run by hand, this module starts it itself (idempotent:
a running cluster costs about a second) and reads the same variables from the script.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from pnyx.backends.slurm import SlurmBackend, SlurmConfig

REPO = Path(__file__).resolve().parents[3]
DEV_CLUSTER = REPO / "deploy" / "slurm" / "dev-cluster.sh"


def cluster_env() -> dict[str, str]:
    """The dev cluster's PNYX_SLURM_* variables: from the environment, else started here."""
    if os.environ.get("PNYX_SLURM_CONF"):
        return {k: v for k, v in os.environ.items() if k.startswith(("PNYX_SLURM_", "SLURM_CONF"))}
    start_cluster()
    out = subprocess.run(
        [str(DEV_CLUSTER), "env"], capture_output=True, text=True, check=True
    ).stdout
    env = {}
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = shlex.split(value)[0] if value else ""
    return env


def start_cluster() -> None:
    """Run ``dev-cluster.sh start`` (also restarts any daemon a fault test killed)."""
    done = subprocess.run(
        [str(DEV_CLUSTER), "start"], capture_output=True, text=True, timeout=240, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"deploy/slurm/dev-cluster.sh start failed: {done.stderr[-2000:]}")


def make_slurm_backend(tmp_path: Path, *, second: bool = False) -> SlurmBackend:
    """A SlurmBackend on cluster alpha (``second``: beta) writing job logs under ``tmp_path``.

    The log directory is per test so that logs of one test never satisfy another's waits.
    """
    env = cluster_env()
    suffix = "2" if second else ""
    log_dir = tmp_path / "slurm-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    return SlurmBackend(
        env[f"PNYX_SLURM_CLUSTER{suffix}"],
        SlurmConfig(
            conf=env[f"PNYX_SLURM_CONF{suffix}"],
            log_dir=str(log_dir),
            accounting=env.get("PNYX_SLURM_ACCOUNTING", "1") == "1",
        ),
    )
