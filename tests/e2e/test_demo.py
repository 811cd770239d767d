"""`pnyx demo` end to end through the real CLI process, twice (it must be idempotent)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def run_demo(data: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "pnyx.cli", "demo", "--data", str(data), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_demo_builds_a_verifiable_facility_and_is_idempotent(tmp_path: Path) -> None:
    first = run_demo(tmp_path / "demo")
    assert first["accelerators"] == 100_000
    assert first["replay_ok"] is True
    ledger = first["ledger"]
    assert isinstance(ledger, dict)
    assert ledger["verify_ok"] is True, ledger["verify_error"]
    assert ledger["checkpoint_size"] == first["events"]
    council = first["council"]
    assert isinstance(council, dict)
    outcomes = [r["status"] for r in council["resolutions"]]
    assert "passed" in outcomes and "failed" in outcomes
    second = run_demo(tmp_path / "demo")
    assert second["events"] == first["events"]
    assert second["ledger"] == first["ledger"]


def test_demo_refuses_an_unusable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = subprocess.run(
        [sys.executable, "-m", "pnyx.cli", "demo", "--data", str(blocker)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
