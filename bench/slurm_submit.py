"""Slurm submission benchmark: SlurmBackend.submit vs plain sbatch, and the cost of status().

    deploy/slurm/dev-cluster.sh start && eval "$(deploy/slurm/dev-cluster.sh env)"
    python bench/slurm_submit.py [--jobs 1000] [--status-calls 5]

Needs the dev cluster (reads PNYX_SLURM_CONF / PNYX_SLURM_CLUSTER). Prints one JSON object:

- ``plain_sbatch``: N single-GPU jobs submitted by ``sbatch --parsable --hold`` in a loop (one
  process per job), each the same script pnyx renders -- the baseline;
- ``backend_submit``: the same N jobs through :meth:`SlurmBackend.submit` (idempotency look-up
  ``squeue`` + ``sacct`` by name, rendering, then ``sbatch``), also held; ``added_ms_per_job``
  and the ratio compare the two;
- ``status_active``: one ``status()`` of the N pnyx jobs while all are active (held, PENDING):
  its duration and the commands it ran (one ``squeue``; no ``sacct`` since all are in squeue);
- ``status_from_sacct``: the same after the jobs were released and ran (``true``), with squeue's
  answer hidden, i.e. the worst case where every job has left the controller (one squeue + one
  sacct for all N).
Jobs are held (``--hold``) so 1,000 of them never swamp the 32 fake GPUs; the plain ones are
cancelled, pnyx's are released to run ``true`` for the last measurement. Run it on a cluster
nobody else is using, e.g. one of its own:
``PNYX_SLURM_DIR=/tmp/bench-slurm PNYX_SLURM_PORT=18800 deploy/slurm/dev-cluster.sh start``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pnyx.backends.base import JobSpec
from pnyx.backends.slurm import SlurmBackend, SlurmConfig, run_command
from pnyx.backends.slurm_script import render_sbatch


def held(
    argv: Sequence[str], *, env: Mapping[str, str], input: str | None, timeout_s: float
) -> subprocess.CompletedProcess[str]:
    """The real runner, with ``--hold`` added to sbatch."""
    if argv[0] == "sbatch":
        argv = [argv[0], "--hold", *argv[1:]]
    return run_command(argv, env=env, input=input, timeout_s=timeout_s)


def blind_squeue(
    argv: Sequence[str], *, env: Mapping[str, str], input: str | None, timeout_s: float
) -> subprocess.CompletedProcess[str]:
    """The real runner, except that squeue --json sees no job (every job left the controller)."""
    if argv[0] == "squeue" and "--json" in argv:
        return subprocess.CompletedProcess(list(argv), 0, '{"jobs": [], "errors": []}', "")
    return run_command(argv, env=env, input=input, timeout_s=timeout_s)


def spec(run: str, i: int) -> JobSpec:
    return JobSpec(f"bench-{run}-{i:05d}", ("true",), "h100", time_limit_s=60, partition="cl1")


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args)
    return (time.perf_counter() - t0) * 1000, out


def plain_loop(
    specs: list[JobSpec], env: dict[str, str], log_dir: str, cluster: str
) -> list[float]:
    times = []
    for s in specs:
        script = render_sbatch(s, cluster=cluster, log_dir=log_dir)
        t0 = time.perf_counter()
        subprocess.run(
            ["sbatch", "--parsable", "--hold"],
            input=script,
            text=True,
            env=env,
            capture_output=True,
            check=True,
        )
        times.append((time.perf_counter() - t0) * 1000)
    return times


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(ms), 2),
        "p90_ms": round(sorted(ms)[int(len(ms) * 0.9) - 1], 2),
        "total_s": round(sum(ms) / 1000, 2),
    }


def status_cost(backend: SlurmBackend, ids: list[str], calls: int) -> dict[str, Any]:
    durations, commands = [], []
    for _ in range(calls):
        backend.calls.clear()
        ms, states = timed(backend.status, ids)
        durations.append(ms)
        commands.append(list(backend.calls))  # the commands of this one call
    assert len(states) == len(ids)
    return {
        "jobs": len(ids),
        "median_ms": round(statistics.median(durations), 1),
        "commands_per_call": commands[-1],
        "states": sorted({s.state.value for s in states.values()}),
    }


def cancel_matching(env: dict[str, str], prefix: str) -> None:
    """scancel every job whose name contains ``prefix``."""
    listing = f"squeue -h -o '%A %j' | awk '$2 ~ /{prefix}/ {{print $1}}' | xargs -r scancel"
    subprocess.run(["sh", "-c", listing], env=env, check=False)


def release_and_wait(backend: SlurmBackend, env: dict[str, str], ids: list[str]) -> None:
    """Release the held pnyx jobs (each runs `true`) and wait until all have finished."""
    numbers = [backend.find(job_id) for job_id in ids]
    for i in range(0, len(numbers), 200):
        chunk = ",".join(n for n in numbers[i : i + 200] if n)
        subprocess.run(["scontrol", "release", chunk], env=env, check=True)
    deadline = time.monotonic() + 900
    while not all(s.state.final for s in backend.status(ids).values()):
        if time.monotonic() > deadline:
            raise SystemExit("the released jobs did not finish within 900 s")
        time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--status-calls", type=int, default=5)
    args = parser.parse_args()
    conf = os.environ["PNYX_SLURM_CONF"]
    cluster = os.environ.get("PNYX_SLURM_CLUSTER", "alpha")
    log_dir = os.environ.get("PNYX_SLURM_LOG_DIR", "/tmp/pnyx-slurm-bench")
    env = dict(os.environ, SLURM_CONF=conf, TZ="UTC")
    run = uuid.uuid4().hex[:6]
    config = SlurmConfig(conf=conf, log_dir=log_dir)
    backend = SlurmBackend(cluster, config, run=held)
    plain_specs = [spec(f"{run}p", i) for i in range(args.jobs)]
    pnyx_specs = [spec(f"{run}b", i) for i in range(args.jobs)]
    try:
        plain = plain_loop(plain_specs, env, log_dir, cluster)
        ours = [timed(backend.submit, s)[0] for s in pnyx_specs]
        ids = [s.job_id for s in pnyx_specs]
        active = status_cost(backend, ids, args.status_calls)
        cancel_matching(env, f"bench-{run}p")
        release_and_wait(backend, env, ids)
        gone = status_cost(SlurmBackend(cluster, config, run=blind_squeue), ids, args.status_calls)
    finally:
        cancel_matching(env, f"bench-{run}")
    plain_s, ours_s = summary(plain), summary(ours)
    print(
        json.dumps(
            {
                "machine": f"{platform.node()} {os.cpu_count()} cpus",
                "jobs": args.jobs,
                "plain_sbatch": plain_s,
                "backend_submit": ours_s,
                "added_ms_per_job": round(ours_s["median_ms"] - plain_s["median_ms"], 2),
                "ratio_backend_to_plain": round(ours_s["median_ms"] / plain_s["median_ms"], 2),
                "status_active": active,
                "status_from_sacct": gone,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
