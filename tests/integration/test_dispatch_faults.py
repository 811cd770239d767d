"""Real processes: `pnyx up --backend local` is SIGKILLed during a burst of 200 API submissions
and restarted; every acknowledged submission exists exactly once in the record and in the
engine, and runs to its end."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.pnyx_server import Server, cli_env

from pnyx.backends.local import LocalBackend
from pnyx.cli.common import open_context
from pnyx.domain.identity import Actor
from pnyx.services import identity, inventory
from pnyx.services.demo_allocation import run_allocation_demo
from pnyx.services.dispatch import run_key
from pnyx.store.db import Database, url_for_data_dir
from pnyx.store.dispatch_repo import store_namespace

pytestmark = pytest.mark.slow

BURST = 200
THREADS = 8
KILL_AFTER = 60  # acknowledged submissions before the SIGKILL
SYSTEM = Actor.system()
FACILITY = Path(__file__).resolve().parents[2] / "examples" / "facility-small.yaml"


def prepare(data: Path) -> str:
    """Awards (the demo's call) and the small example facility, whose cluster lab-gpu runs on
    the local engine; a researcher's API token."""
    ctx = open_context(data, None)
    for member in ("de", "fr", "it", "es", "pl"):
        identity.admit_member(ctx, SYSTEM, member, member.upper())
    run_allocation_demo(ctx)
    inventory.load_facility(ctx, SYSTEM, inventory.parse_facility_file(FACILITY))
    token: str = identity.issue_token(ctx, SYSTEM, "res-de", "burst").token
    ctx.db.dispose()
    return token


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


def test_sigkill_during_a_submission_burst_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = cli_env(PNYX_LOCAL_ACCELERATORS=json.dumps({"h100": 16}), PNYX_DISPATCH_EVERY_S="0.3")
    token = prepare(data)
    store = ["--data", str(data), "--backend", "local"]
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
    by_name: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        by_name.setdefault(job["name"], []).append(job)
    for name, job_id in acked.items():
        assert [j["job_id"] for j in by_name.get(name, [])] == [job_id], name
    assert all(j["state"] == "succeeded" for j in jobs), {j["state"] for j in jobs}
    engine = LocalBackend("check", state_dir=data / "backends" / "local")
    engine_ids = [j["backend_job_id"] for j in jobs]
    assert len(set(engine_ids)) == len(jobs)  # no two jobs share one engine job
    keys = {j["job_id"]: run_key(j["job_id"], 0, namespace_of(data)) for j in jobs}
    for job in jobs:
        assert engine.find(keys[job["job_id"]]) == job["backend_job_id"]
    finals = engine.status(list(keys.values()))
    assert {s.state.value for s in finals.values()} == {"succeeded"}


def namespace_of(data: Path) -> str:
    db = Database(url_for_data_dir(data))
    try:
        with db.read() as conn:
            return store_namespace(conn) or ""
    finally:
        db.dispose()
