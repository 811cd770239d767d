"""The ``local`` backend: each job runs as processes on this host, accelerators handed out as slots.

Every job gets a supervisor (:mod:`pnyx.backends.local_supervisor`, started in a session of its
own) which runs the job's argv in a process group of its own, enforces its time limit and writes
its exit code to a file, so the outcome survives the pnyx process. State lives in
``state_dir/local.sqlite`` (:mod:`pnyx.backends.local_state`) and ``state_dir/jobs/<id>/``. A job
that does not fit the free slots stays PENDING and starts at a later ``status()`` / ``poll()``
once slots free up. A new backend object on the same state directory re-attaches to running jobs;
a job whose supervisor vanished without an exit code is reported LOST with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pnyx.backends import local_supervisor
from pnyx.backends.base import (
    BackendError,
    BackendState,
    JobSpec,
    JobStatus,
    NodeStatus,
    UsageRecord,
)
from pnyx.backends.local_run import SYSTEM_PATH, build_env, outcome, signal_number
from pnyx.backends.local_state import Final, LocalStore, Row
from pnyx.backends.local_supervisor import read_small, start_ticks, write_json

SUPERVISOR = Path(local_supervisor.__file__)


def _read_json(path: Path | str) -> dict[str, Any] | None:
    raw = read_small(str(path))
    if raw is None:
        return None
    try:
        data: dict[str, Any] = json.loads(raw)
    except ValueError:
        return None
    return data


class LocalBackend:
    """Runs jobs as process groups on this host (a :class:`~pnyx.backends.base.Backend`)."""

    def __init__(
        self,
        name: str = "local",
        *,
        state_dir: Path,
        accelerators: Mapping[str, int] | None = None,
        kill_grace_s: float = 10.0,
        launch_timeout_s: float = 30.0,
    ) -> None:
        self.name = name
        self.state_dir = Path(state_dir)
        self.accelerators = dict(accelerators or {"cpu": os.cpu_count() or 1})
        for kind, count in self.accelerators.items():
            if count < 1:
                raise BackendError(f"accelerator type {kind} needs at least 1 slot, got {count}")
        self.kill_grace_s = kill_grace_s
        self.launch_timeout_s = launch_timeout_s
        self.host = socket.gethostname()
        (self.state_dir / "jobs").mkdir(parents=True, exist_ok=True)
        self._jobs_root = str(self.state_dir / "jobs")
        self._store = LocalStore(self.state_dir / "local.sqlite")
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

    # -- the Backend protocol ---------------------------------------------------------------

    def submit(self, spec: JobSpec) -> str:
        """Record the job (idempotent on its job id) and start it if its slots are free."""
        self._check_spec(spec)
        row, new = self._store.add(spec, time.time())
        if new:  # start it now if slots are free (ended jobs free theirs at the next poll)
            self._start_pending()
        return row.backend_job_id

    def find(self, job_id: str) -> str | None:
        """The local id of ``job_id``, or None."""
        row = self._store.get(job_id)
        return row.backend_job_id if row else None

    def cancel(self, job_id: str) -> None:
        """Stop the job: SIGTERM to its group, SIGKILL ``kill_grace_s`` later (its supervisor)."""
        row = self._store.get(job_id)
        if row is None or row.phase == "final":
            return
        if row.phase == "pending":
            final = Final(BackendState.CANCELLED, "cancelled before it started")
            if self._store.finalize(row.id, final, only_phase="pending"):
                return
        job_dir = self._job_dir(row)
        job_dir.mkdir(parents=True, exist_ok=True)
        (job_dir / "cancel").touch()
        self._store.request_cancel(row.id)
        supervisor = _read_json(job_dir / "supervisor.json")  # exists once it handles SIGTERM
        if supervisor and start_ticks(supervisor["pid"]) == supervisor["start_ticks"]:
            os.kill(supervisor["pid"], signal.SIGTERM)

    def signal(self, job_id: str, signum: int) -> None:
        """Deliver ``signum`` to the job's whole process group."""
        row = self._store.get(job_id)
        if row is None:
            raise BackendError(f"job {job_id} is unknown to backend {self.name}")
        if row.phase == "final":
            return
        if row.phase != "started":
            raise BackendError(f"job {job_id} is pending, not running: no signal delivered")
        job = self._wait_for_job(self._job_dir(row))
        if job is None or start_ticks(job["pgid"]) != job["start_ticks"]:
            return  # it ended meanwhile
        with contextlib.suppress(ProcessLookupError):
            os.killpg(job["pgid"], signum)

    def status(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        """One pass over the state file and the jobs' exit files; unknown ids are LOST."""
        self.poll()
        rows = self._store.get_many(job_ids)
        return {
            job_id: self._status_of(rows[job_id])
            if job_id in rows
            else JobStatus(job_id, "", BackendState.LOST, f"unknown to backend {self.name}")
            for job_id in job_ids
        }

    def accounting(self, job_ids: Sequence[str]) -> list[UsageRecord]:
        """One record per finished job that ran (this backend never requeues)."""
        self.poll()
        return [
            UsageRecord(
                job_id=row.job_id,
                backend_job_id=row.backend_job_id,
                accelerator_type=row.accelerator_type,
                accelerators=row.need,
                start_time=row.start_time,
                end_time=row.end_time,
            )
            for row in self._store.get_many(job_ids).values()
            if row.phase == "final"
            and row.ran
            and row.start_time is not None
            and row.end_time is not None
        ]

    def nodes(self) -> list[NodeStatus]:
        """This host: one node per accelerator type (named ``host:type`` when there are several)."""
        self.poll()
        used: dict[str, int] = {}
        for row in self._store.active():
            used[row.accelerator_type] = used.get(row.accelerator_type, 0) + len(row.slots)
        several = len(self.accelerators) > 1
        out = []
        for kind, total in self.accelerators.items():
            n = used.get(kind, 0)
            state = "idle" if n == 0 else "allocated" if n >= total else "mixed"
            name = f"{self.host}:{kind}" if several else self.host
            out.append(NodeStatus(name, state, kind, total))
        return out

    def logs(self, job_id: str, tail_bytes: int = 65_536) -> str:
        """The last ``tail_bytes`` of the job's output.log (stdout and stderr)."""
        row = self._store.get(job_id)
        if row is None:
            raise BackendError(f"job {job_id} is unknown to backend {self.name}")
        path = self._job_dir(row) / "output.log"
        try:
            with path.open("rb") as f:
                f.seek(max(0, path.stat().st_size - tail_bytes))
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    # -- the local queue ----------------------------------------------------------------------

    def poll(self) -> None:
        """Reap ended jobs, detect lost ones, and start pending jobs whose slots are free."""
        for pid, proc in list(self._procs.items()):
            if proc.poll() is not None:
                self._procs.pop(pid, None)
        now = time.time()
        for row in self._store.active():
            self._refresh(row, now)
        self._start_pending()

    def _start_pending(self) -> None:
        for row in self._store.claim_slots(self.accelerators, time.time()):
            self._launch(row)

    def _check_spec(self, spec: JobSpec) -> None:
        total = self.accelerators.get(spec.accelerator_type)
        if total is None:
            have = ", ".join(sorted(self.accelerators))
            raise BackendError(
                f"job {spec.job_id} asks for {spec.accelerator_type}; "
                f"backend {self.name} has only {have}"
            )
        need = spec.nodes * spec.accelerators_per_node
        if need < 1 or need > total:
            raise BackendError(
                f"job {spec.job_id} asks for {need} {spec.accelerator_type} slot(s) "
                f"({spec.nodes} x {spec.accelerators_per_node}); backend {self.name} has {total}"
            )
        if not spec.command:
            raise BackendError(f"job {spec.job_id} has an empty command")
        own = {self.host} | {f"{self.host}:{kind}" for kind in self.accelerators}
        if spec.node_names and not set(spec.node_names) <= own:
            raise BackendError(
                f"job {spec.job_id} is pinned to {list(spec.node_names)}; backend {self.name} "
                f"runs only on {', '.join(sorted(own))}"
            )
        signal_number(spec.checkpoint_signal)

    def _job_dir(self, row: Row) -> Path:
        return self.state_dir / "jobs" / row.backend_job_id

    def _launch(self, row: Row) -> None:
        job_dir = self._job_dir(row)
        job_dir.mkdir(parents=True, exist_ok=True)
        spec = row.spec
        home = pwd.getpwuid(os.getuid()).pw_dir
        run = {
            "argv": list(spec.command),
            "env": build_env(spec, row.slots, row.backend_job_id, home),
            "workdir": spec.workdir,
            "time_limit_s": spec.time_limit_s,
            "checkpoint_signal": signal_number(spec.checkpoint_signal),
            "grace_s": spec.grace_s,
            "kill_grace_s": self.kill_grace_s,
        }
        write_json(job_dir / "run.json", run)
        argv = [sys.executable, "-I", "-S", str(SUPERVISOR), str(job_dir)]
        try:
            with (job_dir / "supervisor.log").open("ab") as err:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=err,
                    start_new_session=True,
                    env={"PATH": SYSTEM_PATH},
                )
        except OSError as e:
            final = Final(BackendState.FAILED, f"could not start its supervisor: {e}")
            self._store.finalize(row.id, final)
            return
        self._procs[proc.pid] = proc
        self._store.set_started(row.id, proc.pid, start_ticks(proc.pid), time.time())

    def _refresh(self, row: Row, now: float) -> None:
        """Finalize an active job that ended; report it LOST if its supervisor vanished."""
        if self._finalize_from_exit(row):
            return
        if row.pid is not None and row.pid in self._procs:
            return  # our own child, still running (poll() reaps the ended ones first)
        job_dir = self._job_dir(row)
        if row.pid is None:  # pnyx stopped between taking the slots and recording the supervisor
            supervisor = _read_json(job_dir / "supervisor.json")
            if supervisor is not None:  # it did start: adopt it
                self._store.set_started(row.id, supervisor["pid"], supervisor["start_ticks"], now)
            elif now - (row.launched_at or now) > self.launch_timeout_s:
                why = "pnyx stopped while starting it: its supervisor never ran"
                self._store.finalize(row.id, Final(BackendState.LOST, why))
            return
        if row.pid_ticks is not None and start_ticks(row.pid) == row.pid_ticks:
            return  # still running
        if self._finalize_from_exit(row):
            return
        job = _read_json(job_dir / "job.json")
        if job and start_ticks(job["pgid"]) == job["start_ticks"]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(job["pgid"], signal.SIGKILL)
        why = (
            f"its supervisor (pid {row.pid}) ended without recording an exit code "
            "(killed?); the job's remaining processes were killed"
        )
        start = job["start_time"] if job else None
        self._store.finalize(row.id, Final(BackendState.LOST, why, start_time=start, end_time=now))

    def _finalize_from_exit(self, row: Row) -> bool:
        record = _read_json(f"{self._jobs_root}/{row.backend_job_id}/exit.json")
        if record is None:
            return False
        state, exit_code, reason = outcome(record)
        ran = bool(record.get("started", True))
        final = Final(
            state,
            reason,
            exit_code if ran or state is BackendState.FAILED else None,
            ran=ran,
            start_time=float(record["start_time"]),
            end_time=float(record["end_time"]),
        )
        self._store.finalize(row.id, final)
        return True

    @staticmethod
    def _wait_for_job(job_dir: Path, timeout_s: float = 5.0) -> dict[str, Any] | None:
        """job.json once the supervisor wrote it (None if the job ended or never started)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = _read_json(job_dir / "job.json")
            if job is not None or (job_dir / "exit.json").exists():
                return job
            time.sleep(0.02)
        return None

    def _status_of(self, row: Row) -> JobStatus:
        if row.phase in ("pending", "launching"):
            why = f"waiting for {row.need} free {row.accelerator_type} slot(s)"
            return JobStatus(row.job_id, row.backend_job_id, BackendState.PENDING, why)
        if row.phase == "started":
            why = "cancel requested" if row.cancel_requested else ""
            return JobStatus(
                row.job_id,
                row.backend_job_id,
                BackendState.RUNNING,
                why,
                nodes=(self.host,),
                start_time=row.launched_at,
            )
        assert row.state is not None
        return JobStatus(
            job_id=row.job_id,
            backend_job_id=row.backend_job_id,
            state=row.state,
            reason=row.reason,
            exit_code=row.exit_code,
            nodes=(self.host,) if row.ran else (),
            start_time=row.start_time,
            end_time=row.end_time,
        )
