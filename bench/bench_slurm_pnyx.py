"""1,000 jobs through the whole pnyx path to the Slurm test cluster vs plain sbatch, in one run.

    deploy/slurm/dev-cluster.sh start && eval "$(deploy/slurm/dev-cluster.sh env)"
    python bench/bench_slurm_pnyx.py [--jobs 1000] [--repeat 5]

Needs the dev cluster (PNYX_SLURM_CONF, PNYX_SLURM_CLUSTER, PNYX_SLURM_LOG_DIR); run it on a
cluster nobody else uses, e.g. ``PNYX_SLURM_DIR=/tmp/bench-slurm PNYX_SLURM_PORT=18800``.
Every job is one h100 running ``true``, held in Slurm (``--hold``) so that 1,000 of them stay
active on the 32 fake GPUs. In one process, on a fresh SQLite store (the demo's awards, the
small example facility whose cluster ``lab-gpu`` the Slurm cluster serves):

- ``plain_sbatch``: the baseline, N ``sbatch --parsable --hold`` calls in a loop, each given
  the script pnyx renders for such a job;
- ``pnyx``: the same N jobs through :func:`pnyx.services.jobs.submit_job` (admission, recorded
  events) and then dispatch passes (rank, broker, place, ``SlurmBackend.submit``, state
  changes recorded) until every job is in Slurm; ``admission_ms_per_job``,
  ``dispatch_ms_per_job`` and ``total_ms_per_job``; ``added_ms_per_job`` = pnyx's total per job
  minus plain sbatch's, and the ratio;
- ``poll``: a dispatch pass over the N active jobs where nothing changes (``--repeat`` times):
  its median duration and the Slurm commands each pass ran (one ``squeue``, no ``sacct``).
Prints one JSON object; the jobs are cancelled at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pnyx.backends.base import JobSpec
from pnyx.backends.slurm import SlurmBackend, SlurmConfig, run_command
from pnyx.backends.slurm_script import render_sbatch
from pnyx.domain.broker import BrokerConfig
from pnyx.domain.identity import Actor, Role
from pnyx.ledger.note import generate_signer
from pnyx.services import awards, identity, inventory, jobs
from pnyx.services.context import ServiceContext
from pnyx.services.demo_allocation import run_allocation_demo
from pnyx.services.dispatch import DispatchConfig, DispatchState, dispatch_once
from pnyx.services.jobs_dto import JobRequest
from pnyx.store.db import Database, url_for_data_dir
from pnyx.store.schema import migrate

SYSTEM = Actor.system()
FACILITY = Path(__file__).resolve().parents[1] / "examples" / "facility-small.yaml"


def held(
    argv: Sequence[str], *, env: Mapping[str, str], input: str | None, timeout_s: float
) -> subprocess.CompletedProcess[str]:
    """The real runner, with ``--hold`` added to sbatch."""
    if argv[0] == "sbatch":
        argv = [argv[0], "--hold", *argv[1:]]
    return run_command(argv, env=env, input=input, timeout_s=timeout_s)


def setup(data: Path) -> ServiceContext:
    db = Database(url_for_data_dir(data))
    migrate(db)
    ctx = ServiceContext(db=db, log_signer=generate_signer("pnyx.bench/log"))
    for member in ("de", "fr", "it", "es", "pl"):
        identity.admit_member(ctx, SYSTEM, member, member.upper())
    run_allocation_demo(ctx)
    inventory.load_facility(ctx, SYSTEM, inventory.parse_facility_file(FACILITY))
    return ctx


def plain_loop(n: int, run: str, env: dict[str, str], log_dir: str, cluster: str) -> list[float]:
    """Milliseconds of each plain ``sbatch --hold`` of the script pnyx renders."""
    times = []
    for i in range(n):
        spec = JobSpec(f"plain-{run}-{i:05d}", ("true",), "h100", time_limit_s=60)
        script = render_sbatch(spec, cluster=cluster, log_dir=log_dir)
        t0 = time.perf_counter()
        subprocess.run(
            ["sbatch", "--parsable", "--hold"], input=script, text=True, env=env,
            capture_output=True, check=True,
        )  # fmt: skip
        times.append((time.perf_counter() - t0) * 1000)
    return times


def through_pnyx(ctx: ServiceContext, backend: SlurmBackend, n: int, repeat: int) -> dict[str, Any]:
    award = next(a for a in awards.list_awards(ctx) if a.project_id == "polyglot-7b")
    researcher = Actor("res-de", frozenset({Role.RESEARCHER}), "de")
    request = JobRequest(
        project_id="polyglot-7b", award_id=award.award_id, command=["true"],
        accelerator_types=["h100"], accelerators_per_node=1, time_limit_s=60,
    )  # fmt: skip
    t0 = time.perf_counter()
    for _ in range(n):
        jobs.submit_job(ctx, researcher, request)
    admission_ms = (time.perf_counter() - t0) * 1000
    backends = {"lab-gpu": backend}
    state = DispatchState()
    config = DispatchConfig(broker=BrokerConfig(max_backlog_ratio=None))
    t0 = time.perf_counter()
    passes, stalled, waiting = 0, 0, n
    while waiting > 0:
        dispatch_once(ctx, SYSTEM, backends, state, config)
        passes += 1
        left = jobs.count_jobs(ctx, ["queued", "placed"])
        stalled = stalled + 1 if left == waiting else 0
        if stalled >= 20:
            raise SystemExit(f"dispatch made no progress in 20 passes: {left} jobs not in Slurm")
        waiting = left
    dispatch_ms = (time.perf_counter() - t0) * 1000
    polls, commands = [], []
    for _ in range(repeat):
        backend.calls.clear()
        t = time.perf_counter()
        dispatch_once(ctx, SYSTEM, backends, state, config)
        polls.append((time.perf_counter() - t) * 1000)
        commands.append(list(backend.calls))
    return {
        "admission_ms_per_job": round(admission_ms / n, 2),
        "dispatch_ms_per_job": round(dispatch_ms / n, 2),
        "dispatch_passes": passes,
        "total_ms_per_job": round((admission_ms + dispatch_ms) / n, 2),
        "in_slurm": sum(1 for j in jobs.list_jobs(ctx) if j.backend_job_id),
        "poll": {
            "active_jobs": n,
            "pass_median_ms": round(statistics.median(polls), 1),
            "commands_per_pass": commands[-1],
        },
    }


def cancel_matching(env: dict[str, str], pattern: str) -> None:
    """scancel every job whose name contains ``pattern``."""
    listing = f"squeue -h -o '%A %j' | awk '$2 ~ /{pattern}/ {{print $1}}' | xargs -r scancel"
    subprocess.run(["sh", "-c", listing], env=env, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    conf = os.environ["PNYX_SLURM_CONF"]
    cluster = os.environ.get("PNYX_SLURM_CLUSTER", "alpha")
    env = dict(os.environ, SLURM_CONF=conf, TZ="UTC")
    run = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = str(Path(tmp) / "slurm-logs")
        ctx = setup(Path(tmp) / "data")
        backend = SlurmBackend(cluster, SlurmConfig(conf=conf, log_dir=log_dir), run=held)
        try:
            plain = plain_loop(args.jobs, run, env, log_dir, cluster)
            cancel_matching(env, f"plain-{run}")
            ours = through_pnyx(ctx, backend, args.jobs, args.repeat)
        finally:
            cancel_matching(env, f"plain-{run}")
            cancel_matching(env, "pnyx-")
    plain_ms = statistics.median(plain)
    plain_total = sum(plain) / args.jobs
    print(
        json.dumps(
            {
                "machine": f"{platform.node()} {os.cpu_count()} cpus",
                "jobs": args.jobs,
                "plain_sbatch": {
                    "median_ms": round(plain_ms, 2),
                    "mean_ms_per_job": round(plain_total, 2),
                },
                "pnyx": ours,
                "added_ms_per_job": round(ours["total_ms_per_job"] - plain_total, 2),
                "ratio_pnyx_to_plain": round(ours["total_ms_per_job"] / plain_total, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
