"""The dispatcher on the real Slurm test clusters of deploy/slurm/dev-cluster.sh (alpha: 4 nodes
x 8 fake h100; beta: 2 x 8 fake h200), through the real `pnyx demo` and `pnyx up` processes:
a job submitted through the API runs on a fake H100 node and its usage is charged to the award;
the broker sends jobs to both clusters; an unreachable controller leaves every job as it was
(backoff), and once it answers again each job runs exactly once."""

from __future__ import annotations

import os
import re
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.backends.slurm_support import cluster_env
from tests.integration.burst_support import assert_each_acked_once, sigkill_mid_burst
from tests.integration.jobs_setup import OPERATOR, build_world, request, set_time
from tests.integration.pnyx_server import Server, cli_env, free_port

from pnyx.backends.slurm import SlurmBackend, SlurmConfig
from pnyx.cli.common import open_context
from pnyx.services import accounting, identity, inventory, jobs
from pnyx.services.context import ServiceContext
from pnyx.services.demo_allocation import run_allocation_demo
from pnyx.services.demo_jobs import run_jobs_demo
from pnyx.services.dispatch import DispatchState, dispatch_once, run_key, store_namespace
from pnyx.settings import Backend as BackendKind
from pnyx.settings import Settings
from pnyx.workers.backends import build_backends

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

FINAL = ("succeeded", "failed", "cancelled")
FACILITY_100K = Path(__file__).resolve().parents[2] / "examples" / "facility-100k.yaml"


def job_body(award_id: str, name: str, types: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "project_id": "polyglot-7b",
        "award_id": award_id,
        "command": ["sh", "-c", 'echo "on $(hostname) with $CUDA_VISIBLE_DEVICES"; sleep 2'],
        "accelerator_types": types,
        "accelerators_per_node": 2,
        "time_limit_s": 120,
    }


def wait_final(url: str, headers: dict[str, str], ids: list[str]) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + 240
    while True:
        views = {
            i: httpx.get(f"{url}/api/v1/jobs/{i}", headers=headers, timeout=30).json() for i in ids
        }
        if all(v["state"] in FINAL for v in views.values()):
            return views
        assert time.monotonic() < deadline, {i: v["state"] for i, v in views.items()}
        time.sleep(1)


def prepare(data: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, Any]]:
    """The demo's awards and 100k facility; the demo's jobs run on Slurm (what `pnyx demo
    --backend slurm` does, minus its long training run); a researcher's token."""
    for key, value in cluster_env().items():  # starts the cluster if needed
        monkeypatch.setenv(key, value)
    ctx = open_context(data, None)
    for member in ("de", "fr", "it", "es", "pl"):
        identity.admit_member(ctx, OPERATOR, member, member.upper())
    run_allocation_demo(ctx)
    inventory.load_facility(ctx, OPERATOR, inventory.parse_facility_file(FACILITY_100K))
    settings = Settings(data_dir=data, backend=BackendKind.SLURM)
    summary = run_jobs_demo(ctx, build_backends(ctx, settings), "slurm")
    token = identity.issue_token(ctx, OPERATOR, "res-de", "e2e").token
    ctx.db.dispose()
    return token, summary


def test_api_jobs_run_on_both_slurm_clusters_and_are_charged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    token, runs = prepare(data, monkeypatch)
    assert runs["all_final"], runs
    assert runs["clusters"] == ["de-booster", "de-secure"]  # served by alpha and beta
    states = {j["name"].rsplit("-", 1)[-1]: (j["state"], j["exit_code"]) for j in runs["jobs"]}
    assert states == {
        "hello": ("succeeded", 0),
        "slots": ("succeeded", 0),
        "steps": ("succeeded", 0),
        "fails": ("failed", 3),
    }
    env = cli_env(**cluster_env(), PNYX_DISPATCH_EVERY_S="0.5")
    headers = {"Authorization": f"Bearer {token}"}
    server = Server(["--data", str(data), "--backend", "slurm"], env, tmp_path / "up.log")
    try:
        url = server.url
        awards = httpx.get(f"{url}/api/v1/awards", timeout=30).json()
        award = next(a["award_id"] for a in awards if a["project_id"] == "polyglot-7b")
        ids = []
        for name, types in (("on-h100", ["h100"]), ("on-h200", ["h200"])):
            r = httpx.post(
                f"{url}/api/v1/jobs", json=job_body(award, name, types), headers=headers, timeout=30
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["job_id"])
        views = wait_final(url, headers, ids)
        usage = httpx.get(f"{url}/api/v1/usage", timeout=30).json()
        log = httpx.get(f"{url}/api/v1/jobs/{ids[0]}/logs", headers=headers, timeout=30).json()
    finally:
        server.stop()
    h100, h200 = views[ids[0]], views[ids[1]]
    assert h100["state"] == "succeeded" and h100["accelerator_type"] == "h100"
    assert h100["cluster"] == "de-booster"  # served by Slurm cluster alpha
    assert set(h100["allocated_nodes"]) <= {"node1", "node2", "node3", "node4"}
    assert h100["allocated_nodes"], h100
    assert log["text"].startswith("on ") and " with " in log["text"], log
    assert h200["state"] == "succeeded" and h200["cluster"] == "de-secure"  # cluster beta
    assert set(h200["allocated_nodes"]) <= {"bnode1", "bnode2"} and h200["allocated_nodes"]
    placed = next(h for h in h100["history"] if h["state"] == "placed")
    assert placed["reason"].startswith("broker: de-booster")
    charged = {u["job_id"]: u for u in usage}
    for view, kind in ((h100, "h100"), (h200, "h200")):
        record = charged[view["job_id"]]
        assert record["project_id"] == "polyglot-7b" and record["accelerator_type"] == kind
        assert record["accel_seconds"] >= 2 * 2  # 2 accelerators for at least 2 s
    assert sum(1 for u in usage if u["job_id"] == h100["job_id"]) == 1


def unreachable_copy(conf: Path, tmp_path: Path) -> Path:
    """The cluster's slurm.conf with the controller moved to a port where nothing listens
    (an unreachable slurmctld, without stopping the one other tests share)."""
    text = re.sub(r"(?m)^SlurmctldPort=\d+$", f"SlurmctldPort={free_port()}", conf.read_text())
    copy = tmp_path / "unreachable" / "slurm.conf"
    copy.parent.mkdir()
    copy.write_text(text)
    return copy


def slurm_jobs_named(conf: Path, name: str) -> list[str]:
    out = subprocess.run(
        ["sacct", "-n", "-X", "-P", f"--name={name}", "-o", "JobID", "-S", "2000-01-01"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "SLURM_CONF": str(conf)},
    ).stdout
    return out.split()


def test_unreachable_controller_keeps_jobs_and_backs_off(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    env = cluster_env()
    conf = Path(env["PNYX_SLURM_CONF"])
    logs = str(tmp_path / "logs")
    up = {"lab-gpu": SlurmBackend("alpha", SlurmConfig(conf=str(conf), log_dir=logs))}
    down = {
        "lab-gpu": SlurmBackend(
            "alpha", SlurmConfig(conf=str(unreachable_copy(conf, tmp_path)), log_dir=logs)
        )
    }
    world = build_world(ctx)
    state = DispatchState()
    cmd = ["sh", "-c", "echo started; sleep 6; echo done"]
    running = jobs.submit_job(
        ctx, world.alice, request(world, command=cmd, accelerators_per_node=2)
    ).job_id
    dispatch_until(ctx, up, state, lambda: jobs.get_job(ctx, running).state == "running")
    # the controller stops answering while the job runs, and a new job is submitted
    queued = jobs.submit_job(
        ctx, world.alice, request(world, command=cmd, accelerators_per_node=1)
    ).job_id
    first = dispatch_once(ctx, OPERATOR, down, state)
    assert "lab-gpu" in first.unavailable and "retry in 1 s" in first.unavailable["lab-gpu"]
    assert jobs.get_job(ctx, queued).state == "queued"
    assert jobs.get_job(ctx, running).state == "running"
    set_time(ctx, ctx.clock() + timedelta(seconds=1.5))
    second = dispatch_once(ctx, OPERATOR, down, state)
    assert "retry in 2 s" in second.unavailable["lab-gpu"]
    # the controller is back: both jobs end, each ran once in Slurm and was charged once
    set_time(ctx, ctx.clock() + timedelta(seconds=5))
    done = ("succeeded", "failed", "cancelled")
    dispatch_until(
        ctx, up, state, lambda: all(jobs.get_job(ctx, j).state in done for j in (running, queued))
    )
    namespace = store_namespace(ctx)
    for job_id in (running, queued):
        view = jobs.get_job(ctx, job_id)
        assert view.state == "succeeded", view.state_reason
        names = slurm_jobs_named(conf, f"pnyx-{run_key(job_id, 0, namespace)}")
        assert names == [view.backend_job_id]
        assert len([u for u in accounting.list_usage(ctx) if u.job_id == job_id]) == 1
    assert state.backoff == {}


def test_sigkill_during_a_burst_on_slurm_loses_and_duplicates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pnyx up --backend slurm` SIGKILLed during 200 API submissions, then restarted: every
    acknowledged submission is one job of the record and exactly one Slurm job (by sacct)."""
    data = tmp_path / "data"
    token, _ = prepare(data, monkeypatch)
    env = cli_env(**cluster_env(), PNYX_DISPATCH_EVERY_S="0.3")
    store = ["--data", str(data), "--backend", "slurm"]
    acked, burst = sigkill_mid_burst(store, env, token, tmp_path)
    assert_each_acked_once(acked, burst)
    assert all(j["state"] == "succeeded" for j in burst), {j["state"] for j in burst}
    assert {j["cluster"] for j in burst} == {"de-booster"}  # Slurm cluster alpha
    conf = Path(cluster_env()["PNYX_SLURM_CONF"])
    ctx = open_context(data, None)
    namespace = store_namespace(ctx)
    ctx.db.dispose()
    for job in burst:
        names = slurm_jobs_named(conf, f"pnyx-{run_key(job['job_id'], 0, namespace)}")
        assert names == [job["backend_job_id"]], job["job_id"]


def dispatch_until(
    ctx: ServiceContext, backends: dict[str, Any], state: DispatchState, done: Any
) -> None:
    deadline = time.monotonic() + 180
    while not done():
        assert time.monotonic() < deadline, "Slurm jobs did not get there in 180 s"
        dispatch_once(ctx, OPERATOR, backends, state)
        time.sleep(0.5)


SLURM_ALPHA = {
    "cluster_id": "slurm-alpha",
    "name": "The dev cluster alpha, its node names declared",
    "engine": "slurm",
    "interconnect": "ethernet",
    "containment": "CL-2",
    "pods": [
        {
            "pod_id": "alpha-r0",
            "kind": "rack",
            "nodes": [
                {"names": ["node1", "node2", "node3", "node4"], "accelerator_type": "h100",
                 "accelerators_per_node": 8, "cpus": 64, "mem_gib": 1000},
            ],
        }
    ],
}  # fmt: skip


def test_pnyx_pins_its_placement_and_slurm_runs_the_job_on_those_nodes(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    env = cluster_env()
    world = build_world(ctx)
    spec = dict(inventory.parse_facility_file(Path(__file__).parents[2] / "examples" /
                                              "facility-small.yaml"))  # fmt: skip
    site = dict(spec["sites"][0])
    site["clusters"] = [*site["clusters"], SLURM_ALPHA]
    spec["sites"] = [site]
    inventory.load_facility(ctx, OPERATOR, spec)
    logs = str(tmp_path / "logs")
    backend = SlurmBackend("alpha", SlurmConfig(conf=env["PNYX_SLURM_CONF"], log_dir=logs))
    backends = {"slurm-alpha": backend}
    cmd = ["sh", "-c", 'echo "ran on $SLURMD_NODENAME"; sleep 1']
    one = jobs.submit_job(
        ctx, world.alice, request(world, command=cmd, accelerators_per_node=2, time_limit_s=120)
    ).job_id
    gang = jobs.submit_job(
        ctx,
        world.alice,
        request(world, command=cmd, nodes=2, accelerators_per_node=4, time_limit_s=120),
    ).job_id
    state = DispatchState()
    first = dispatch_once(ctx, OPERATOR, backends, state)
    assert sorted(first.placed) == sorted([one, gang]), first
    placed = {j: jobs.get_job(ctx, j).allocated_nodes for j in (one, gang)}
    assert len(placed[one]) == 1 and len(placed[gang]) == 2
    for job_id in (one, gang):
        reason = next(h.reason for h in jobs.get_job(ctx, job_id).history if h.state == "placed")
        assert reason.startswith("pnyx: ") and "slurm-alpha" in reason
    done = ("succeeded", "failed", "cancelled")
    dispatch_until(
        ctx, backends, state, lambda: all(jobs.get_job(ctx, j).state in done for j in placed)
    )
    for job_id, nodes in placed.items():
        view = jobs.get_job(ctx, job_id)
        assert view.state == "succeeded", view.state_reason
        assert sorted(view.allocated_nodes) == sorted(nodes)  # Slurm's own report of the run
        log = jobs.get_job_log(ctx, OPERATOR, job_id).text
        assert sorted(line.split()[-1] for line in log.splitlines() if "ran on" in line) == sorted(
            nodes
        )
