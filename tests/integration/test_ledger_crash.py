"""SIGKILL `pnyx up` in the middle of a burst of writes, restart it, and check the log.

After the restart: every write the server acknowledged (201) is there, the log verifies (no
half-written entry, the tree and log_state agree with the entries), log_state.size ==
count(events) == max(seq) + 1, and every checkpoint seen BEFORE the crash is consistent with the
log after it. Runs on SQLite and on PostgreSQL (a fresh schema).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from pnyx_server import Server, cli_env
from sqlalchemy import func, select
from typer.testing import CliRunner

from pnyx.cli.main import app
from pnyx.ledger import merkle, note
from pnyx.services.logkey import parse_key_file
from pnyx.services.logsources import DbLogSource, unb64
from pnyx.services.verify import verify_log
from pnyx.store import tables as t
from pnyx.store.db import Database

pytestmark = pytest.mark.slow

WRITERS = 6
ACKS_BEFORE_KILL = 120
CHECKPOINT_EVERY = 7


class Burst:
    """Writer threads admitting members, and a poller keeping every checkpoint it sees."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.acked: list[str] = []
        self.cut_off = 0
        self.checkpoints: dict[str, str] = {}  # note text -> the signed note
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._write, args=(w,), daemon=True) for w in range(WRITERS)
        ]
        self.threads.append(threading.Thread(target=self._poll, daemon=True))

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _write(self, writer: int) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=30) as client:
            for i in range(10_000):
                if self.stop.is_set():
                    return
                member_id = f"w{writer}-{i:04d}"
                try:
                    response = client.post(
                        "/api/v1/members", json={"member_id": member_id, "name": f"Writer {i}"}
                    )
                except httpx.HTTPError:
                    with self.lock:
                        self.cut_off += 1  # the server died under this writer
                    return
                if response.status_code == 201:
                    with self.lock:
                        self.acked.append(member_id)

    def _poll(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self.stop.is_set():
                try:
                    response = client.get("/api/v1/log/checkpoint")
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    text, _ = note.split_note(response.text)
                    self.checkpoints.setdefault(text, response.text)
                time.sleep(0.01)


def cli(*args: str, env: dict[str, str]) -> Result:
    result = CliRunner(env=env).invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def count_acks(burst: Burst) -> int:
    with burst.lock:
        return len(burst.acked)


def test_sigkill_mid_burst_loses_nothing_acknowledged(db_url: str, tmp_path: Path) -> None:
    key_file = tmp_path / "log-key"
    store = ["--data", str(tmp_path / "data")] if db_url.startswith("sqlite") else ["--db", db_url]
    env = {
        "PNYX_CHECKPOINT_EVERY_EVENTS": str(CHECKPOINT_EVERY),
        "PNYX_LOG_KEY_FILE": str(key_file),
    }
    created = cli(
        "principal",
        "create",
        "ops",
        "--role",
        "operator",
        "--name",
        "Ops",
        "--token",
        "--json",
        *store,
        env=env,
    )
    token = json.loads(created.stdout)["token"]["token"]
    server_env = cli_env(**env)

    server = Server(store, server_env, tmp_path / "server-1.log")
    burst = Burst(server.url, token)
    burst.start()
    deadline = time.monotonic() + 120
    while count_acks(burst) < ACKS_BEFORE_KILL and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()  # SIGKILL, writers mid-request
    burst.join()
    acked = list(burst.acked)
    seen = list(burst.checkpoints.values())
    assert len(acked) >= ACKS_BEFORE_KILL, "the burst never got going"
    assert len(seen) >= 3, "no checkpoints were observed during the burst"
    assert burst.cut_off == WRITERS, "the kill did not happen in the middle of the burst"

    server = Server(store, server_env, tmp_path / "server-2.log")
    try:
        members = httpx.get(f"{server.url}/api/v1/members", params={"limit": 500}).json()
        present = {m["member_id"] for m in members["items"]}
        lost = sorted(set(acked) - present)
        assert not lost, f"acknowledged writes lost: {lost[:5]}"

        verifier = parse_key_file(key_file).verifier
        database = Database(db_url)
        try:
            report = verify_log(DbLogSource(database, verifier))
            assert report.ok, report.error
            with database.read() as conn:
                size = conn.execute(select(t.log_state.c.size)).scalar_one()
                rows, max_seq = conn.execute(select(func.count(), func.max(t.events.c.seq))).one()
        finally:
            database.dispose()
        assert size == rows == max_seq + 1 == report.entries
        assert report.root_hash is not None
        root = unb64(report.root_hash, "root")

        for signed in seen:
            checkpoint, _ = note.open_checkpoint(signed, [verifier])
            assert checkpoint.size <= size
            proof = httpx.get(
                f"{server.url}/api/v1/log/proof/consistency",
                params={"old": checkpoint.size, "new": size},
            ).json()["proof"]
            merkle.verify_consistency(
                checkpoint.size,
                size,
                checkpoint.root_hash,
                root,
                [unb64(h, "proof") for h in proof],
            )
    finally:
        server.stop()
