"""Slurm-only behaviour of SlurmBackend on the real dev cluster (the shared contract is in
test_contract.py): gang jobs on several nodes, two clusters, and status from sacct alone."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from slurm_support import make_slurm_backend

from pnyx.backends.base import BackendState, JobSpec, JobStatus, UsageRecord
from pnyx.backends.slurm import SlurmBackend, run_command

pytestmark = pytest.mark.slurm

PRINT_NODE = (
    "import os; print('ran on', os.environ['SLURMD_NODENAME'], os.environ.get('GANG_VAR'),"
    " len(os.environ.get('CUDA_VISIBLE_DEVICES', '').split(',')), flush=True)"
)


def wait_final(backend: SlurmBackend, job_id: str, deadline_s: float = 120) -> JobStatus:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        status = backend.status([job_id])[job_id]
        if status.state.final:
            return status
        time.sleep(0.3)
    pytest.fail(f"{job_id} did not finish in {deadline_s} s: {status}")


def job(command: Sequence[str], accelerator: str = "h100", **kw: object) -> JobSpec:
    return JobSpec(f"slurm-{uuid.uuid4().hex[:10]}", tuple(command), accelerator, **kw)  # type: ignore[arg-type]


def test_a_gang_job_runs_its_command_once_on_each_node(tmp_path: Path) -> None:
    backend = make_slurm_backend(tmp_path)
    spec = job(
        ["python3", "-c", PRINT_NODE], nodes=2, accelerators_per_node=2, env={"GANG_VAR": "g1"}
    )
    backend.submit(spec)
    done = wait_final(backend, spec.job_id)
    assert done.state is BackendState.SUCCEEDED, (done, backend.logs(spec.job_id))
    assert len(done.nodes) == 2
    lines = [x.split() for x in backend.logs(spec.job_id).splitlines() if x.startswith("ran on")]
    assert sorted(x[2] for x in lines) == sorted(done.nodes)  # once per node
    assert all(x[3] == "g1" and x[4] == "2" for x in lines), lines
    (usage,) = backend.accounting([spec.job_id]) or _retry_accounting(backend, spec.job_id)
    assert usage.accelerators == 4  # 2 nodes x 2


def test_a_pinned_job_runs_on_the_nodes_it_names(tmp_path: Path) -> None:
    backend = make_slurm_backend(tmp_path)
    spec = job(
        ["python3", "-c", PRINT_NODE], nodes=2, accelerators_per_node=1,
        node_names=("node2", "node4"),
    )  # fmt: skip
    backend.submit(spec)
    done = wait_final(backend, spec.job_id)
    assert done.state is BackendState.SUCCEEDED, (done, backend.logs(spec.job_id))
    assert sorted(done.nodes) == ["node2", "node4"]
    lines = [x.split() for x in backend.logs(spec.job_id).splitlines() if x.startswith("ran on")]
    assert sorted(x[2] for x in lines) == ["node2", "node4"]


def _retry_accounting(backend: SlurmBackend, job_id: str) -> list[UsageRecord]:
    for _ in range(50):
        time.sleep(0.2)
        if records := backend.accounting([job_id]):
            return list(records)
    return []


def test_two_clusters_each_run_jobs_on_their_own_accelerators(tmp_path: Path) -> None:
    alpha = make_slurm_backend(tmp_path / "a")
    beta = make_slurm_backend(tmp_path / "b", second=True)
    assert {n.accelerator_type for n in alpha.nodes()} == {"h100"}
    assert {n.accelerator_type for n in beta.nodes()} == {"h200"}
    on_alpha = job(["python3", "-c", PRINT_NODE])
    on_beta = job(["python3", "-c", PRINT_NODE], "h200")
    alpha.submit(on_alpha)
    beta.submit(on_beta)
    assert wait_final(alpha, on_alpha.job_id).state is BackendState.SUCCEEDED
    assert wait_final(beta, on_beta.job_id).state is BackendState.SUCCEEDED
    assert wait_final(beta, on_beta.job_id).nodes[0].startswith("bnode")
    assert alpha.find(on_beta.job_id) is None  # each cluster knows only its own jobs
    assert beta.find(on_alpha.job_id) is None


def test_jobs_gone_from_squeue_get_their_status_from_sacct(tmp_path: Path) -> None:
    real = make_slurm_backend(tmp_path)
    ok, bad = job(["true"]), job(["sh", "-c", "exit 3"])
    ids = {spec.job_id: real.submit(spec) for spec in (ok, bad)}
    for job_id in ids:
        wait_final(real, job_id)
    # the same cluster, but squeue has forgotten every job (as it does after MinJobAge)
    blind = SlurmBackend(real.name, real.config, run=_squeue_forgets_everything)
    deadline = time.monotonic() + 60
    while (states := blind.status(list(ids)))[bad.job_id].state is not BackendState.FAILED:
        assert time.monotonic() < deadline, states  # sacct may lag the controller a moment
        time.sleep(0.3)
    assert states[ok.job_id].state is BackendState.SUCCEEDED
    assert states[bad.job_id].exit_code == 3
    assert {j: s.backend_job_id for j, s in states.items()} == ids
    assert blind.find(ok.job_id) == ids[ok.job_id]
    assert blind.submit(ok) == ids[ok.job_id]  # found in sacct: not submitted again


def _squeue_forgets_everything(
    argv: Sequence[str], *, env: Mapping[str, str], input: str | None, timeout_s: float
) -> subprocess.CompletedProcess[str]:
    if argv[0] == "squeue":
        empty = "" if "--json" not in argv else json.dumps({"jobs": [], "errors": []})
        return subprocess.CompletedProcess(list(argv), 0, empty, "")
    return run_command(argv, env=env, input=input, timeout_s=timeout_s)
