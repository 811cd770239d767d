"""A member state's witness through the real CLI against a real `pnyx up` server.

`pnyx up` must issue checkpoints by itself (the periodic checkpointer); `pnyx witness run`
cosigns them, and refuses, in one line with a non-zero exit, when its history does not match.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pnyx.ledger import merkle, note

pytestmark = pytest.mark.slow


def pnyx(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pnyx.cli", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if ok:
        assert done.returncode == 0, f"{' '.join(args)} failed: {done.stdout}{done.stderr}"
    return done


def pnyx_json(*args: str) -> Any:
    return json.loads(pnyx(*args, "--json").stdout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return str(r.read().decode())
    except urllib.error.HTTPError:
        return None


def wait_for(url: str, proc: subprocess.Popen[bytes] | None = None, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc is None or proc.poll() is None, f"pnyx up exited with {proc.returncode}"
        try:
            text = fetch(url)
        except OSError:
            text = None
        if text is not None:
            return text
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {timeout_s} s")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    data = tmp_path / "data"
    pnyx("member", "admit", "de", "--name", "Germany", "--data", str(data))
    port = free_port()
    cmd = [sys.executable, "-m", "pnyx.cli", "up", "--data", str(data), "--port", str(port)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PNYX_CHECKPOINT_EVERY_S": "0.3"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/healthz", proc)
        yield base, data
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_witness_cosigns_through_the_cli_and_refuses_a_forked_history(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    base, data = server
    assert (data / "log-key").stat().st_mode & 0o777 == 0o600
    key, state = tmp_path / "witness.key", tmp_path / "state.json"
    made = pnyx_json("witness", "keygen", "witness.de.example", "--out", str(key))
    assert note.parse_verifier_key(made["verifier_key"]).alg == note.ALG_COSIGNATURE_V1
    refused = pnyx("witness", "keygen", "witness.de.example", "--out", str(key), ok=False)
    assert refused.returncode == 1 and "not overwriting" in refused.stderr

    vkey = made["verifier_key"]
    pnyx("witness", "register", "Germany", vkey, "--member", "de", "--data", str(data))
    head = pnyx_json("ledger", "head", "--url", base)
    signed = wait_for(base + "/api/v1/log/checkpoint")  # issued by `pnyx up`'s checkpointer
    log_key = note.parse_verifier_key(fetch(base + "/api/v1/log/key") or "")
    checkpoint, _ = note.open_checkpoint(signed, [log_key])
    assert checkpoint.size >= head["size"]  # member + witness registration, at least

    first = pnyx_json("witness", "run", "--url", base, "--key", str(key), "--state", str(state))
    assert first["old_size"] == 0 and first["newly_stored"] is True
    cosigned = fetch(base + "/api/v1/log/checkpoint") or ""
    assert first["cosignature"] in cosigned

    proof = pnyx_json("ledger", "proof", "0", "--url", base)
    entry = json.loads(fetch(f"{base}/api/v1/log/entries?start=0&end=1") or "{}")["entries"][0]
    path = [base64.b64decode(h) for h in proof["proof"]]
    root = base64.b64decode(proof["root_hash"])
    merkle.verify_inclusion(merkle.leaf_hash(entry.encode()), 0, proof["size"], path, root)

    forked = json.loads(state.read_text())  # as if this witness had seen another history
    forked["root_hash"] = base64.b64encode(merkle.root_hash([b"another history"])).decode()
    state.write_text(json.dumps(forked))
    done = pnyx("witness", "run", "--url", base, "--key", str(key), "--state", str(state), ok=False)
    assert done.returncode == 1
    assert "not consistent" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
