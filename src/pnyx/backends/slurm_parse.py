"""Parse what Slurm 22.05's commands print (pure: text in, backend types out).

- ``squeue --json``: every job the controller still holds (pending, running, and finished ones for
  ``MinJobAge`` seconds). Its ``exit_code`` is the raw wait status (``3 << 8`` for ``exit 3``).
- ``sacct --parsable2 --noheader --duplicates --allocations --format=SACCT_FORMAT`` (run with
  ``TZ=UTC``): the accounting database, one row per run (a requeued job has one row per run).
  Text rather than ``--json``: 22.05's ``sacct --json`` reports ``exit_code`` SUCCESS/0 for a job
  that exited 3 (measured here; the parsable text says ``3:0``).
- ``sinfo --json``: nodes, their state and GRES.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pnyx.backends.base import (
    BackendError,
    BackendState,
    BackendUnavailableError,
    JobStatus,
    NodeStatus,
)
from pnyx.backends.slurm_script import job_id_of

SACCT_FORMAT = "JobIDRaw,JobName,State,ExitCode,Start,End,NodeList,AllocTRES,Reason"

_STATES: dict[str, BackendState] = {
    "PENDING": BackendState.PENDING,
    "CONFIGURING": BackendState.PENDING,
    "RESV_DEL_HOLD": BackendState.PENDING,
    "RUNNING": BackendState.RUNNING,
    "RESIZING": BackendState.RUNNING,
    "SUSPENDED": BackendState.RUNNING,
    "STOPPED": BackendState.RUNNING,
    "COMPLETING": BackendState.COMPLETING,
    "SIGNALING": BackendState.COMPLETING,
    "STAGE_OUT": BackendState.COMPLETING,
    "COMPLETED": BackendState.SUCCEEDED,
    "FAILED": BackendState.FAILED,
    "OUT_OF_MEMORY": BackendState.FAILED,
    "BOOT_FAIL": BackendState.FAILED,
    "DEADLINE": BackendState.FAILED,
    "CANCELLED": BackendState.CANCELLED,
    "REVOKED": BackendState.CANCELLED,
    "TIMEOUT": BackendState.TIMEOUT,
    "PREEMPTED": BackendState.PREEMPTED,
    "NODE_FAIL": BackendState.NODE_FAIL,
    "REQUEUED": BackendState.REQUEUED,
    "REQUEUE_HOLD": BackendState.REQUEUED,
    "REQUEUE_FED": BackendState.REQUEUED,
    "SPECIAL_EXIT": BackendState.REQUEUED,
}


def map_state(slurm_state: str) -> BackendState:
    """A Slurm job state (``CANCELLED by 0`` included) as a BackendState; unknown ones are LOST."""
    words = slurm_state.split()
    return _STATES.get(words[0].upper(), BackendState.LOST) if words else BackendState.LOST


def decode_wait_status(status: int) -> int:
    """A raw wait status as a shell would report it: the exit code, or 128 + the signal."""
    if status & 0x7F:
        return 128 + (status & 0x7F)
    return (status >> 8) & 0xFF


@dataclass(frozen=True)
class SacctRow:
    """One run of one pnyx job, as the accounting database recorded it."""

    job_id: str
    backend_job_id: str
    state: BackendState
    slurm_state: str
    exit_code: int | None
    start_time: float | None
    end_time: float | None
    nodes: tuple[str, ...]
    gpus: dict[str, int]  # accelerator type -> count allocated to this run
    reason: str


def load_json(text: str, command: str) -> dict[str, Any]:
    """The JSON object a Slurm command printed; BackendError when it is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise BackendError(f"{command} printed no JSON ({e}): {text[:200]!r}") from e
    if not isinstance(data, dict):
        raise BackendError(f"{command} printed {type(data).__name__}, not a JSON object")
    errors = data.get("errors") or []
    if errors:  # e.g. slurm_load_jobs "Failed while looking for jobs": controller unreachable
        raise BackendUnavailableError(f"{command} reported errors: {errors}")
    return data


def parse_squeue(text: str) -> dict[str, JobStatus]:
    """pnyx job id -> status for every pnyx job in ``squeue --json`` output.

    When one id has several Slurm jobs (never submitted so by pnyx), the newest one wins.
    """
    found: dict[str, tuple[int, JobStatus]] = {}
    for job in load_json(text, "squeue --json").get("jobs", []):
        job_id = job_id_of(str(job.get("name", "")))
        if job_id is None:
            continue
        number = int(job["job_id"])
        if job_id not in found or number > found[job_id][0]:
            found[job_id] = (number, _squeue_status(job_id, job))
    return {job_id: status for job_id, (_, status) in found.items()}


def _squeue_status(job_id: str, job: dict[str, Any]) -> JobStatus:
    slurm_state = str(job.get("job_state", ""))
    state = map_state(slurm_state)
    reason = str(job.get("state_reason") or "")
    restarts = int(job.get("restart_cnt") or 0)
    if reason == "None":
        reason = ""
    if state is BackendState.PENDING and restarts:
        state = BackendState.REQUEUED
        reason = f"requeued {restarts} time(s)" + (f"; waiting: {reason}" if reason else "")
    exit_code = None
    if state.final:
        exit_code = decode_wait_status(int(job.get("exit_code") or 0))
    start = _posix(job.get("start_time"))
    running = state in (BackendState.RUNNING, BackendState.COMPLETING) or state.final
    return JobStatus(
        job_id=job_id,
        backend_job_id=str(job["job_id"]),
        state=state,
        reason=reason if reason else slurm_state.lower() if state is BackendState.LOST else "",
        exit_code=exit_code,
        nodes=expand_nodelist(str(job.get("nodes") or "")) if running else (),
        start_time=start if running else None,
        end_time=_posix(job.get("end_time")) if state.final else None,
    )


def parse_sacct(text: str) -> list[SacctRow]:
    """The pnyx jobs' runs in ``sacct --parsable2 --noheader --format=SACCT_FORMAT`` output."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != len(SACCT_FORMAT.split(",")):
            raise BackendError(f"sacct printed an unexpected line: {line!r}")
        raw_id, name, slurm_state, exit_code, start, end, nodelist, tres, reason = fields
        job_id = job_id_of(name)
        if job_id is None or "." in raw_id:
            continue
        state = map_state(slurm_state)
        rows.append(
            SacctRow(
                job_id=job_id,
                backend_job_id=raw_id,
                state=state,
                slurm_state=slurm_state,
                exit_code=_sacct_exit_code(exit_code) if state.final else None,
                start_time=_sacct_time(start),
                end_time=_sacct_time(end),
                nodes=expand_nodelist(nodelist) if nodelist != "None assigned" else (),
                gpus=parse_gpu_tres(tres),
                reason="" if reason == "None" else reason,
            )
        )
    return rows


def latest_runs(rows: Iterable[SacctRow]) -> dict[str, SacctRow]:
    """pnyx job id -> the row of its newest run (highest Slurm id; a requeued run's later row)."""
    latest: dict[str, SacctRow] = {}
    for row in rows:
        current = latest.get(row.job_id)
        if current is None or int(row.backend_job_id) >= int(current.backend_job_id):
            latest[row.job_id] = row
    return latest


def sacct_status(row: SacctRow) -> JobStatus:
    """A JobStatus from the accounting database's newest row of a job."""
    state = row.state
    return JobStatus(
        job_id=row.job_id,
        backend_job_id=row.backend_job_id,
        state=state,
        reason=row.reason if not state.final or state is not BackendState.SUCCEEDED else "",
        exit_code=row.exit_code,
        nodes=row.nodes,
        start_time=row.start_time,
        end_time=row.end_time if state.final else None,
    )


def parse_gpu_tres(tres: str) -> dict[str, int]:
    """``gres/gpu:h100=2`` entries of an AllocTRES string as {type: count}."""
    gpus: dict[str, int] = {}
    for item in tres.split(","):
        key, _, value = item.partition("=")
        if key.startswith("gres/gpu:") and value.isdigit():
            gpus[key[len("gres/gpu:") :]] = int(value)
    return gpus


def parse_sinfo(text: str) -> list[NodeStatus]:
    """Every node of ``sinfo --json`` output (one entry per node, however many partitions)."""
    nodes: dict[str, NodeStatus] = {}
    for node in load_json(text, "sinfo --json").get("nodes", []):
        name = str(node["name"])
        gpu_type, count = _node_gpus(str(node.get("gres") or ""))
        nodes[name] = NodeStatus(
            name=name,
            state=_node_state(str(node.get("state", "")), node.get("state_flags") or []),
            accelerator_type=gpu_type,
            accelerators=count,
            reason=str(node.get("reason") or ""),
        )
    return [nodes[n] for n in sorted(nodes, key=_natural)]


def _node_state(state: str, flags: list[str]) -> str:
    upper = {f.upper() for f in flags}
    if "DRAIN" in upper or "DRAINING" in upper or "DRAINED" in upper:
        return "drained"
    if state.lower() in ("down", "future", "unknown") or "NOT_RESPONDING" in upper:
        return "down"
    return {"allocated": "allocated", "mixed": "mixed", "idle": "idle"}.get(state.lower(), "down")


def _node_gpus(gres: str) -> tuple[str, int]:
    for item in gres.split(","):
        parts = item.split("(")[0].split(":")
        if parts[0] == "gpu" and len(parts) == 3 and parts[2].isdigit():
            return parts[1], int(parts[2])
    return "", 0


_RANGE = re.compile(r"^([^\[\],]*)\[([^\]]+)\](.*)$")


def expand_nodelist(nodelist: str) -> tuple[str, ...]:
    """``node[1-3,5],bnode2`` -> ('node1', 'node2', 'node3', 'node5', 'bnode2')."""
    names: list[str] = []
    for part in _split_top_level(nodelist):
        match = _RANGE.match(part)
        if not match:
            names.append(part)
            continue
        prefix, ranges, suffix = match.groups()
        for r in ranges.split(","):
            low, _, high = r.partition("-")
            width = len(low)
            names.extend(
                f"{prefix}{i:0{width}d}{suffix}" for i in range(int(low), int(high or low) + 1)
            )
    return tuple(names)


def _split_top_level(nodelist: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in nodelist.strip():
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current:
        parts.append(current)
    return [p for p in parts if p and p != "(null)"]


def _natural(name: str) -> tuple[str, int]:
    match = re.match(r"^(.*?)(\d+)$", name)
    return (match.group(1), int(match.group(2))) if match else (name, -1)


def _posix(value: Any) -> float | None:
    if isinstance(value, int | float) and value > 0:
        return float(value)
    return None


def _sacct_time(value: str) -> float | None:
    if value in ("", "Unknown", "None"):
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()


def _sacct_exit_code(value: str) -> int | None:
    code, _, sig = value.partition(":")
    if not code.isdigit():
        return None
    return 128 + int(sig) if sig.isdigit() and int(sig) else int(code)
