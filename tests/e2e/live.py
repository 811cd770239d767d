"""End-to-end helpers: the real CLI and a live `pnyx up` (the Chromium fixture is in conftest)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def pnyx(*args: str) -> None:
    """Run the real CLI; fail with its output when it fails."""
    cmd = [sys.executable, "-m", "pnyx.cli", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(args)} failed: {done.stdout}{done.stderr}"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(
    base: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 30.0
) -> None:
    """Wait for /healthz; fail with the server's log if it exits or never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            pytest.fail(f"pnyx up exited with {proc.returncode} before becoming healthy:\n{tail}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"pnyx up was not healthy at {base}/healthz within {timeout_s} s")


@contextmanager
def live_server(data: Path, log: Path) -> Iterator[str]:
    """`pnyx up --data DATA` on a free port; yields its base URL and stops it afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "pnyx.cli", "up", "--data", str(data), "--port", str(port)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc, log)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
