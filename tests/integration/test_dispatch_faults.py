"""Real processes: `pnyx up --backend local` is SIGKILLed during a burst of 200 API submissions
and restarted; every acknowledged submission exists exactly once in the record and in the
engine, and runs to its end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.integration.burst_support import (
    assert_each_acked_once,
    sigkill_mid_burst,
)
from tests.integration.pnyx_server import cli_env

from pnyx.backends.local import LocalBackend
from pnyx.cli.common import open_context
from pnyx.domain.identity import Actor
from pnyx.services import identity, inventory
from pnyx.services.demo_allocation import run_allocation_demo
from pnyx.services.dispatch import run_key
from pnyx.store.db import Database, url_for_data_dir
from pnyx.store.dispatch_repo import store_namespace

pytestmark = pytest.mark.slow

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


def test_sigkill_during_a_submission_burst_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = cli_env(PNYX_LOCAL_ACCELERATORS=json.dumps({"h100": 16}), PNYX_DISPATCH_EVERY_S="0.3")
    token = prepare(data)
    store = ["--data", str(data), "--backend", "local"]
    acked, jobs = sigkill_mid_burst(store, env, token, tmp_path)
    assert_each_acked_once(acked, jobs)
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
