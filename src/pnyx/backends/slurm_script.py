"""Render the sbatch script of one job (pure: no I/O, no clock).

The job's Slurm name is ``pnyx-<job id>`` and its comment ``pnyx:<job id>``: the name is how
:class:`~pnyx.backends.slurm.SlurmBackend` finds a job it already submitted (idempotency after a
crash), the comment shows the same id to anyone reading ``squeue``/``sacct``. The script runs with
``--export=NONE`` (pnyx's own environment never leaks into jobs), exports the spec's environment
and ``exec``s the command, so the checkpoint signal (``--signal=B:SIG@grace``, sent to the batch
shell) reaches the command itself; a job of several nodes ``exec``s ``srun``, which starts the
command once on each node and forwards the signal to all of them.
"""

from __future__ import annotations

import re
import shlex

from pnyx.backends.base import BackendError, JobSpec

NAME_PREFIX = "pnyx-"
COMMENT_PREFIX = "pnyx:"

_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WORD = re.compile(r"^[A-Za-z0-9._-]+$")
_SIGNAL = re.compile(r"^(SIG)?[A-Z0-9]+$")


def job_name(job_id: str) -> str:
    """The Slurm job name that carries pnyx job ``job_id``."""
    check_job_id(job_id)
    return NAME_PREFIX + job_id


def job_id_of(name: str) -> str | None:
    """The pnyx job id carried by a Slurm job name, or None for a job pnyx did not submit."""
    if name.startswith(NAME_PREFIX) and _JOB_ID.match(name[len(NAME_PREFIX) :]):
        return name[len(NAME_PREFIX) :]
    return None


def check_job_id(job_id: str) -> None:
    """Raise BackendError unless ``job_id`` is safe in a Slurm name, a path and a comment."""
    if not _JOB_ID.match(job_id):
        raise BackendError(
            f"job id {job_id!r} cannot name a Slurm job: use letters, digits, '.', '_' or '-'"
        )


def output_path(log_dir: str, job_id: str) -> str:
    """Where the job's combined stdout and stderr go (appended to across requeued runs)."""
    return f"{log_dir.rstrip('/')}/{job_id}.out"


def format_time_limit(seconds: int) -> str:
    """Slurm's D-HH:MM:SS, rounded up to whole minutes (Slurm's own resolution)."""
    minutes = max(1, -(-seconds // 60))
    days, rest = divmod(minutes, 24 * 60)
    return f"{days}-{rest // 60:02d}:{rest % 60:02d}:00"


def render_sbatch(spec: JobSpec, *, cluster: str, log_dir: str, accounting: bool = False) -> str:
    """The sbatch script for ``spec`` on ``cluster``; ``--account`` only when ``accounting``."""
    _check_spec(spec)
    if not log_dir.startswith("/") or any(c.isspace() for c in log_dir):
        raise BackendError(f"log_dir must be an absolute path without spaces, got {log_dir!r}")
    directives = [
        f"--job-name={job_name(spec.job_id)}",
        f"--comment={COMMENT_PREFIX}{spec.job_id}",
    ]
    if spec.partition:
        directives.append(f"--partition={spec.partition}")
    if accounting and spec.account:
        directives.append(f"--account={spec.account}")
    directives += [
        f"--nodes={spec.nodes}",
        *([f"--nodelist={','.join(spec.node_names)}"] if spec.node_names else []),
        "--ntasks-per-node=1",
        f"--gres=gpu:{spec.accelerator_type}:{spec.accelerators_per_node}",
        f"--time={format_time_limit(spec.time_limit_s)}",
    ]
    if spec.checkpoint_signal:
        directives.append(f"--signal=B:{_signal_name(spec.checkpoint_signal)}@{spec.grace_s}")
    directives.append("--requeue" if spec.requeue else "--no-requeue")
    directives += [
        f"--output={output_path(log_dir, spec.job_id)}",
        "--open-mode=append",
        "--export=NONE",
    ]
    if spec.workdir:
        directives.append(f"--chdir={spec.workdir}")
    lines = [
        "#!/bin/bash",
        f"# pnyx job {spec.job_id} on cluster {cluster} (rendered by pnyx; do not edit)",
        *(f"#SBATCH {d}" for d in directives),
        "set -e",
        f"export PNYX_JOB_ID={shlex.quote(spec.job_id)}",
        f"export PNYX_CLUSTER={shlex.quote(cluster)}",
        *(f"export {k}={shlex.quote(v)}" for k, v in sorted(spec.env.items())),
        "exec " + shlex.join(_launcher(spec) + spec.command),
    ]
    return "\n".join(lines) + "\n"


def _launcher(spec: JobSpec) -> tuple[str, ...]:
    """A gang of several nodes runs its command once per node through srun (which forwards the
    checkpoint signal to every node); one node runs it directly."""
    if spec.nodes == 1:
        return ()
    return ("srun", "--export=ALL", "--kill-on-bad-exit=1", "--ntasks-per-node=1")


def _signal_name(signal: str) -> str:
    name = signal.upper()
    return name[3:] if name.startswith("SIG") else name


def _check_spec(spec: JobSpec) -> None:
    check_job_id(spec.job_id)
    if not spec.command:
        raise BackendError(f"job {spec.job_id}: empty command")
    if spec.nodes < 1 or spec.accelerators_per_node < 0:
        raise BackendError(
            f"job {spec.job_id}: needs nodes >= 1 and accelerators_per_node >= 0, got "
            f"{spec.nodes} x {spec.accelerators_per_node}"
        )
    if spec.time_limit_s < 1:
        raise BackendError(f"job {spec.job_id}: time_limit_s must be >= 1, got {spec.time_limit_s}")
    for label, word in (
        ("accelerator type", spec.accelerator_type),
        ("partition", spec.partition or "x"),
        ("account", spec.account or "x"),
    ):
        if not _WORD.match(word):
            raise BackendError(f"job {spec.job_id}: {label} {word!r} is not a plain Slurm name")
    if spec.node_names and (
        len(spec.node_names) != spec.nodes or not all(_WORD.match(n) for n in spec.node_names)
    ):
        raise BackendError(
            f"job {spec.job_id}: node_names must be {spec.nodes} plain Slurm node names, "
            f"got {list(spec.node_names)}"
        )
    bad = [k for k in spec.env if not _ENV_NAME.match(k)]
    if bad:
        raise BackendError(f"job {spec.job_id}: invalid environment variable names {bad}")
    if spec.checkpoint_signal and not _SIGNAL.match(spec.checkpoint_signal.upper()):
        raise BackendError(f"job {spec.job_id}: unknown signal {spec.checkpoint_signal!r}")
    if spec.checkpoint_signal and not 0 <= spec.grace_s <= 65535:
        raise BackendError(f"job {spec.job_id}: grace_s must be 0..65535, got {spec.grace_s}")
    if spec.workdir and (
        not spec.workdir.startswith("/") or any(c.isspace() for c in spec.workdir)
    ):
        raise BackendError(f"job {spec.job_id}: workdir must be an absolute path without spaces")
