"""The local backend's pure rules: job environment, slot choice, exit outcome, signal names."""

from __future__ import annotations

import signal

import pytest

from pnyx.backends.base import BackendError, BackendState, JobSpec
from pnyx.backends.local_run import build_env, choose_slots, outcome, signal_number


def test_the_environment_is_minimal_then_the_spec_then_pnyx() -> None:
    spec = JobSpec(
        "job-1",
        ("x",),
        "h100",
        nodes=1,
        accelerators_per_node=2,
        env={"PATH": "/opt/bin", "CUDA_VISIBLE_DEVICES": "9", "A": "b"},
    )
    env = build_env(spec, (2, 5), "17", "/home/u")
    assert env["PATH"] == "/opt/bin"  # the spec may set PATH
    assert env["A"] == "b"
    assert env["CUDA_VISIBLE_DEVICES"] == "2,5"  # but not its slots
    assert env["PNYX_ACCELERATORS"] == "2,5"
    assert env["PNYX_JOB_ID"] == "job-1"
    assert env["PNYX_BACKEND_JOB_ID"] == "17"
    assert env["HOME"] == "/home/u"


def test_cpu_jobs_see_no_gpu_but_still_get_their_slots() -> None:
    env = build_env(JobSpec("j", ("x",), "cpu"), (0,), "1", "/h")
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert env["PNYX_ACCELERATORS"] == "0"


@pytest.mark.parametrize(
    ("total", "used", "count", "want"),
    [
        (4, set(), 2, (0, 1)),
        (4, {0, 2}, 2, (1, 3)),
        (4, {0, 1, 2}, 2, None),
        (2, set(), 3, None),
    ],
)
def test_choose_slots(total: int, used: set[int], count: int, want: tuple[int, ...] | None) -> None:
    assert choose_slots(total, used, count) == want


@pytest.mark.parametrize(
    ("record", "want"),
    [
        ({"returncode": 0}, (BackendState.SUCCEEDED, 0, "")),
        ({"returncode": 3}, (BackendState.FAILED, 3, "exit code 3")),
        ({"returncode": -9}, (BackendState.FAILED, 137, "killed by signal SIGKILL")),
        (
            {"returncode": 127, "reason": "could not start"},
            (BackendState.FAILED, 127, "could not start"),
        ),
        (
            {"returncode": -15, "timed_out": True},
            (BackendState.TIMEOUT, 143, "time limit reached (killed by signal SIGTERM)"),
        ),
        (
            {"returncode": 0, "timed_out": True},
            (BackendState.TIMEOUT, 0, "time limit reached (exit code 0)"),
        ),
        ({"returncode": -15, "cancelled": True}, (BackendState.CANCELLED, 143, "cancelled")),
    ],
)
def test_outcome(record: dict[str, object], want: tuple[BackendState, int, str]) -> None:
    assert outcome(record) == want


def test_signal_names() -> None:
    assert signal_number("USR1") == signal.SIGUSR1
    assert signal_number("SIGTERM") == signal.SIGTERM
    assert signal_number(None) is None
    with pytest.raises(BackendError, match="unknown checkpoint signal"):
        signal_number("NOPE")
