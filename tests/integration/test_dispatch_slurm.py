"""The dispatcher on the real Slurm test clusters of deploy/slurm/dev-cluster.sh (alpha: 4 nodes
x 8 fake h100; beta: 2 x 8 fake h200), through the real `pnyx demo` and `pnyx up` processes:
a job submitted through the API runs on a fake H100 node and its usage is charged to the award;
the broker sends jobs to both clusters."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.backends.slurm_support import cluster_env
from tests.integration.pnyx_server import Server, cli_env, run_json

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

FINAL = ("succeeded", "failed", "cancelled")


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


def test_api_jobs_run_on_both_slurm_clusters_and_are_charged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = cli_env(**cluster_env(), PNYX_DISPATCH_EVERY_S="0.5")  # starts the cluster if needed
    demo = run_json(["demo", "--data", str(data), "--backend", "slurm"], env)
    runs = demo["jobs"]
    assert runs["all_final"], runs
    states = {j["name"].rsplit("-", 1)[-1]: (j["state"], j["exit_code"]) for j in runs["jobs"]}
    assert states == {
        "hello": ("succeeded", 0),
        "slots": ("succeeded", 0),
        "steps": ("succeeded", 0),
        "fails": ("failed", 3),
    }
    token = run_json(["token", "issue", "res-de", "--data", str(data)], env)["token"]
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
