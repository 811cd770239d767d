"""The Slurm backend: one Slurm cluster driven through its commands (sbatch, squeue, sacct...).

Every command runs with the cluster's ``SLURM_CONF`` (so one process can drive several clusters)
and ``TZ=UTC``, through an injectable runner (unit tests pass a fake one). A job is found by its
Slurm name ``pnyx-<job id>`` (:mod:`pnyx.backends.slurm_script`). ``submit`` keeps each job's
script beside its log (fsynced) before calling sbatch; when that script is already there, an
earlier submit may have reached Slurm, so it first looks for the job in ``squeue`` then in
``sacct``: a resubmission after a crash finds the job instead of running it twice. ``status``
costs one ``squeue --json`` plus, only when some jobs have left the controller's memory, one
``sacct`` for all of them (one per 1,000 such jobs). Usage comes from the accounting database
(slurmdbd): one record per run, requeued runs included. A controller or database that does not
answer raises :class:`BackendUnavailableError`; a request Slurm refuses raises BackendError.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pnyx.backends.base import (
    BackendError,
    BackendState,
    BackendUnavailableError,
    JobSpec,
    JobStatus,
    NodeStatus,
    UsageRecord,
)
from pnyx.backends.slurm_parse import (
    SACCT_FORMAT,
    SacctRow,
    latest_runs,
    parse_sacct,
    parse_sinfo,
    parse_squeue,
    sacct_status,
)
from pnyx.backends.slurm_script import job_name, output_path, render_sbatch

Runner = Callable[..., "subprocess.CompletedProcess[str]"]
"""``run(argv, *, env, input, timeout_s) -> CompletedProcess`` (text mode, output captured)."""

DEFAULT_PARTITIONS: Mapping[int, str] = {1: "cl1", 2: "cl2", 3: "cl3"}
SACCT_SINCE = "2000-01-01T00:00:00"  # sacct's default window is "since midnight"
SACCT_BATCH = 1000  # job names per sacct call (about 110 bytes each at most)

_UNREACHABLE = (
    "unable to contact slurm controller",
    "socket timed out",
    "connection refused",
    "zero bytes were transmitted",
    "communication connection failure",
    "problem talking to the database",
    "slurmdbd",
    "could not establish a configuration source",
    "unable to establish",
    "timed out",
)


def run_command(
    argv: Sequence[str], *, env: Mapping[str, str], input: str | None, timeout_s: float
) -> subprocess.CompletedProcess[str]:
    """Run a Slurm command; a missing binary or a timeout means the engine is unavailable."""
    try:
        return subprocess.run(
            list(argv),
            input=input,
            capture_output=True,
            text=True,
            env=dict(env),
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError as e:
        raise BackendUnavailableError(f"{argv[0]} is not installed: {e}") from e
    except subprocess.TimeoutExpired as e:
        raise BackendUnavailableError(f"{argv[0]} did not answer within {timeout_s} s") from e


@dataclass(frozen=True)
class SlurmConfig:
    """Where one Slurm cluster is and how pnyx uses it."""

    log_dir: str  # job output files, one per job (a path the nodes share)
    conf: str | None = None  # its slurm.conf; None: the SLURM_CONF of this process
    partitions: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_PARTITIONS))
    # containment level -> partition
    accounting: bool = True  # slurmdbd present: sacct and --account work
    timeout_s: float = 30.0  # per command

    def __post_init__(self) -> None:
        if not self.log_dir.startswith("/"):
            raise BackendError(f"log_dir must be an absolute path, got {self.log_dir!r}")
        if self.timeout_s <= 0:
            raise BackendError(f"timeout_s must be > 0, got {self.timeout_s}")


class SlurmBackend:
    """The :class:`~pnyx.backends.base.Backend` of one Slurm cluster."""

    def __init__(self, name: str, config: SlurmConfig, *, run: Runner = run_command) -> None:
        self.name = name
        self.config = config
        self._run = run
        self._env = dict(os.environ, TZ="UTC")
        if self.config.conf:
            self._env["SLURM_CONF"] = self.config.conf
        self.calls: deque[str] = deque(maxlen=1024)  # the latest commands run, by name

    # ------------------------------------------------------------------ Backend
    def submit(self, spec: JobSpec) -> str:
        """Submit ``spec`` unless Slurm already has a job of that name; return the Slurm id.

        The script is first written to ``LOG_DIR/<job id>.sbatch``. Only when that file already
        exists (an earlier submit may have reached sbatch) does submit look the job up in squeue
        and sacct; a job never submitted costs no look-up.
        """
        script = self.render(spec)
        path = Path(output_path(self.config.log_dir, spec.job_id)).with_suffix(".sbatch")
        if path.exists():
            existing = self.find(spec.job_id)
            if existing is not None:
                return existing
        _write_durably(path, script)
        out = self.run_slurm(["sbatch", "--parsable"], input=script, refuse=True)
        backend_id = out.strip().split(";")[0]
        if not backend_id.isdigit():
            raise BackendError(f"sbatch printed no job id: {out!r}")
        return backend_id

    def render(self, spec: JobSpec) -> str:
        """The sbatch script ``submit`` would send (partition from the containment level)."""
        partition = spec.partition or self.config.partitions.get(spec.containment)
        if partition is None:
            raise BackendError(
                f"cluster {self.name} has no partition for containment level {spec.containment}"
                f" (it has {dict(self.config.partitions)})"
            )
        return render_sbatch(
            replace(spec, partition=partition),
            cluster=self.name,
            log_dir=self.config.log_dir,
            accounting=self.config.accounting,
        )

    def find(self, job_id: str) -> str | None:
        """The Slurm id of the newest job named for ``job_id``: controller first, then sacct."""
        name = job_name(job_id)
        out = self.run_slurm(
            ["squeue", "--noheader", f"--name={name}", "--format=%A", "--states=all"]
        )
        ids = [int(x) for x in out.split() if x.isdigit()]
        if not ids and self.config.accounting:
            ids = [int(r.backend_job_id) for r in self._sacct([job_id])]
        return str(max(ids)) if ids else None

    def cancel(self, job_id: str) -> None:
        """scancel every job named for ``job_id``; an unknown or finished job is a no-op."""
        self.run_slurm(["scancel", f"--name={job_name(job_id)}"])

    def signal(self, job_id: str, signum: int) -> None:
        """Send ``signum`` to the batch script and every step of the job (``scancel --full``)."""
        if not 0 < signum < 65:
            raise BackendError(f"not a signal number: {signum}")
        self.run_slurm(["scancel", "--full", f"--signal={signum}", f"--name={job_name(job_id)}"])

    def status(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        """One squeue for all jobs, one sacct for those squeue no longer shows; else LOST."""
        wanted = list(dict.fromkeys(job_ids))
        live = parse_squeue(self.run_slurm(["squeue", "--json", "--states=all"]))
        result = {j: live[j] for j in wanted if j in live}
        gone = [j for j in wanted if j not in live]
        if gone and self.config.accounting:
            for job_id, row in latest_runs(self._sacct(gone)).items():
                result[job_id] = sacct_status(row)
        for job_id in wanted:
            if job_id not in result:
                result[job_id] = JobStatus(
                    job_id, "", BackendState.LOST, f"cluster {self.name} has no job {job_id}"
                )
        return result

    def accounting(self, job_ids: Sequence[str]) -> list[UsageRecord]:
        """One record per finished run (requeued runs included) from sacct; [] without it."""
        if not job_ids or not self.config.accounting:
            return []
        return [record for row in self._sacct(job_ids) if (record := _usage(row)) is not None]

    def nodes(self) -> list[NodeStatus]:
        """Every node of the cluster (``sinfo --json``)."""
        return parse_sinfo(self.run_slurm(["sinfo", "--json"]))

    def logs(self, job_id: str, tail_bytes: int = 65_536) -> str:
        """The tail of the job's output file ('' before the job has written anything)."""
        path = Path(output_path(self.config.log_dir, job_id))
        try:
            with path.open("rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - tail_bytes))
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            if self.find(job_id) is None:
                raise BackendError(f"cluster {self.name} has no job {job_id}") from None
            return ""

    # ------------------------------------------------------------------ commands
    def _sacct(self, job_ids: Sequence[str]) -> list[SacctRow]:
        """Every run of ``job_ids``: one sacct per SACCT_BATCH jobs (Linux caps one argument at
        128 KiB, so the --name list is cut there)."""
        rows: list[SacctRow] = []
        for i in range(0, len(job_ids), SACCT_BATCH):
            names = ",".join(job_name(j) for j in job_ids[i : i + SACCT_BATCH])
            out = self.run_slurm(
                [
                    "sacct",
                    "--parsable2",
                    "--noheader",
                    "--allocations",
                    "--duplicates",
                    f"--starttime={SACCT_SINCE}",
                    f"--name={names}",
                    f"--format={SACCT_FORMAT}",
                ]
            )
            rows += parse_sacct(out)
        wanted = set(job_ids)
        return [row for row in rows if row.job_id in wanted]

    def run_slurm(self, argv: list[str], *, input: str | None = None, refuse: bool = False) -> str:
        """Run one command; unreachable -> BackendUnavailableError, refused -> BackendError."""
        self.calls.append(argv[0])
        done = self._run(argv, env=self._env, input=input, timeout_s=self.config.timeout_s)
        if done.returncode == 0:
            return done.stdout
        message = (done.stderr or done.stdout).strip()
        if "invalid job id" in message.lower():
            return ""
        if not refuse or any(p in message.lower() for p in _UNREACHABLE):
            raise BackendUnavailableError(
                f"cluster {self.name}: {argv[0]} failed (exit {done.returncode}): {message[:300]}"
            )
        raise BackendError(f"cluster {self.name}: {shlex.join(argv[:4])} refused: {message[:300]}")


def _write_durably(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` and fsync file and directory (the mark must survive a crash
    of the host, or a resubmission would skip the look-up and run the job twice)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _usage(row: SacctRow) -> UsageRecord | None:
    if (
        row.start_time is None
        or row.end_time is None
        or (not row.state.final and (row.state is not BackendState.REQUEUED))
    ):
        return None
    gpu_type, count = max(row.gpus.items(), key=lambda kv: kv[1], default=("", 0))
    return UsageRecord(
        job_id=row.job_id,
        backend_job_id=row.backend_job_id,
        accelerator_type=gpu_type,
        accelerators=count,
        start_time=row.start_time,
        end_time=row.end_time,
    )
