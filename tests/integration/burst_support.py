"""A burst of API job submissions from threads, for the SIGKILL tests of the dispatcher
(local engine in test_dispatch_faults.py, Slurm in test_dispatch_slurm.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
from tests.integration.pnyx_server import Server

BURST = 200
THREADS = 8
KILL_AFTER = 60  # acknowledged submissions before the SIGKILL


def body(award_id: str, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "project_id": "polyglot-7b",
        "award_id": award_id,
        "command": ["sh", "-c", "exit 0"],
        "accelerator_types": ["h100"],
        "accelerators_per_node": 1,
        "time_limit_s": 60,
    }


def award_id_of(server_url: str) -> str:
    awards = httpx.get(f"{server_url}/api/v1/awards", timeout=30).json()
    return str(next(a["award_id"] for a in awards if a["project_id"] == "polyglot-7b"))


class Burst:
    """Threads submitting jobs until BURST are sent or the server stops answering."""

    def __init__(self, url: str, token: str, award_id: str) -> None:
        self.url, self.award_id = url, award_id
        self.headers = {"Authorization": f"Bearer {token}"}
        self.acked: dict[str, str] = {}  # name -> job id, answered 201
        self.lock = threading.Lock()
        self.next = 0

    def _take(self) -> int | None:
        with self.lock:
            if self.next >= BURST:
                return None
            self.next += 1
            return self.next

    def worker(self) -> None:
        with httpx.Client(timeout=30) as client:
            while (n := self._take()) is not None:
                name = f"burst-{n:03d}"
                try:
                    r = client.post(
                        f"{self.url}/api/v1/jobs",
                        json=body(self.award_id, name),
                        headers=self.headers,
                    )
                except httpx.HTTPError:
                    return  # the server died: this submission was never acknowledged
                if r.status_code == 201:
                    with self.lock:
                        self.acked[name] = r.json()["job_id"]
                else:
                    assert r.status_code >= 500, r.text

    def count(self) -> int:
        with self.lock:
            return len(self.acked)


def wait_all_final(url: str, token: str, timeout_s: float = 240) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = httpx.get(f"{url}/api/v1/jobs", headers=headers, timeout=60).json()
        burst = [j for j in jobs if (j["name"] or "").startswith("burst-")]
        if all(j["state"] in ("succeeded", "failed", "cancelled") for j in burst):
            return burst
        if time.monotonic() > deadline:
            waiting = sorted({j["state"] for j in burst})
            raise AssertionError(f"burst jobs not final after {timeout_s} s: states {waiting}")
        time.sleep(1)


def sigkill_mid_burst(
    store: list[str], env: dict[str, str], token: str, tmp_path: Path
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Start `pnyx up STORE`, burst submissions, SIGKILL it after KILL_AFTER acknowledgements,
    restart it and wait until every burst job is final: (acknowledged name -> job id, jobs)."""
    server = Server(store, env, tmp_path / "up.log")
    try:
        burst = Burst(server.url, token, award_id_of(server.url))
        threads = [threading.Thread(target=burst.worker) for _ in range(THREADS)]
        for t in threads:
            t.start()
        while burst.count() < KILL_AFTER and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        server.kill()
        for t in threads:
            t.join(timeout=60)
        acked = dict(burst.acked)
        assert KILL_AFTER <= len(acked) < BURST  # killed mid-burst
        server = Server(store, env, tmp_path / "up2.log")
        jobs = wait_all_final(server.url, token)
    finally:
        server.stop()
    return acked, jobs


def assert_each_acked_once(acked: dict[str, str], jobs: list[dict[str, Any]]) -> None:
    """Every acknowledged submission is exactly one job of the record, with the id it got."""
    by_name: dict[str, list[str]] = {}
    for job in jobs:
        by_name.setdefault(job["name"], []).append(job["job_id"])
    for name, job_id in acked.items():
        assert by_name.get(name) == [job_id], name
