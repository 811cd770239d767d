"""Pure rules of the local backend: the job's environment, slot choice, and outcome mapping."""

from __future__ import annotations

import signal
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pnyx.backends.base import BackendError, BackendState, JobSpec

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CPU = "cpu"  # the accelerator type that is no GPU: jobs see CUDA_VISIBLE_DEVICES=""


def build_env(
    spec: JobSpec, devices: Sequence[int], backend_job_id: str, home: str
) -> dict[str, str]:
    """A minimal environment (nothing inherited from pnyx), the spec's, then pnyx's own.

    Slots are handed out as ``CUDA_VISIBLE_DEVICES=0,1`` (empty for ``cpu`` jobs, so that they
    see no GPU) and, for every type, ``PNYX_ACCELERATORS``; a gang of N nodes x M accelerators
    on this one host gets all N x M slots in one process.
    """
    ids = ",".join(str(d) for d in devices)
    return {
        "PATH": SYSTEM_PATH,
        "HOME": home,
        "LANG": "C.UTF-8",
        **spec.env,
        "PNYX_JOB_ID": spec.job_id,
        "PNYX_BACKEND_JOB_ID": backend_job_id,
        "PNYX_ACCELERATOR_TYPE": spec.accelerator_type,
        "PNYX_ACCELERATORS": ids,
        "PNYX_NODES": str(spec.nodes),
        "PNYX_ACCELERATORS_PER_NODE": str(spec.accelerators_per_node),
        "CUDA_VISIBLE_DEVICES": "" if spec.accelerator_type == CPU else ids,
    }


def choose_slots(total: int, used: Collection[int], count: int) -> tuple[int, ...] | None:
    """The ``count`` lowest free slot indices out of ``total``, or None when they do not fit."""
    free = [i for i in range(total) if i not in used]
    return tuple(free[:count]) if len(free) >= count else None


def signal_number(name: str | None) -> int | None:
    """``"USR1"`` or ``"SIGUSR1"`` -> its number; None stays None; an unknown name is refused."""
    if not name:
        return None
    try:
        return int(signal.Signals["SIG" + name.upper().removeprefix("SIG")])
    except KeyError:
        raise BackendError(f"unknown checkpoint signal {name!r} (expected e.g. USR1)") from None


def outcome(record: Mapping[str, Any]) -> tuple[BackendState, int, str]:
    """Map a supervisor's exit record to (state, exit code, reason).

    A signal death is reported as exit code 128 + signal, as shells do.
    """
    returncode = int(record["returncode"])
    exit_code = 128 - returncode if returncode < 0 else returncode
    how = (
        f"killed by signal {signal.Signals(-returncode).name}"
        if returncode < 0
        else f"exit code {returncode}"
    )
    if record.get("cancelled"):
        return BackendState.CANCELLED, exit_code, str(record.get("reason") or "cancelled")
    if record.get("timed_out"):
        return BackendState.TIMEOUT, exit_code, f"time limit reached ({how})"
    if returncode == 0:
        return BackendState.SUCCEEDED, 0, ""
    return BackendState.FAILED, exit_code, str(record.get("reason") or how)
