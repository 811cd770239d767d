"""Local backend benchmark: the cost of one batched status() over many jobs.

    python bench/bench_backends_local.py [--jobs 1000] [--running 100] [--repeat 7]

On a fresh state directory, submits ``--jobs`` jobs (``sleep 600``) to a LocalBackend with
``--running`` cpu slots: that many run (each a supervisor plus its job), the rest wait PENDING.
Then, in the same process:

- ``submit_ms_per_job``: mean submit() time (the first ``--running`` start processes);
- ``status_batched_ms``: one status() of all jobs (one pass: one state-file scan, one exit-file
  and /proc check per running job, one query per 500 ids), p50 over ``--repeat``;
- ``status_per_job_total_ms`` (baseline): the same answer from one status([id]) call per job;
  ``per_job_vs_batched`` is the ratio of the two;
- ``status_batched_finished_ms``: one status() of all jobs once every one was cancelled and
  reached its final state.

Prints one JSON object. Results go to docs/backends.md ("Local backend: status cost").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from pnyx.backends.base import JobSpec
from pnyx.backends.local import LocalBackend


def timed_ms(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--running", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backend = LocalBackend(state_dir=Path(tmp), accelerators={"cpu": args.running})
        ids = [f"bench-{i}" for i in range(args.jobs)]
        start = time.perf_counter()
        for job_id in ids:
            backend.submit(JobSpec(job_id, ("sleep", "600"), "cpu", time_limit_s=3600))
        submit_ms = (time.perf_counter() - start) * 1000 / args.jobs
        states = backend.status(ids)
        counts = {
            s: sum(1 for v in states.values() if v.state == s) for s in ("running", "pending")
        }
        batched = [timed_ms(lambda: backend.status(ids)) for _ in range(args.repeat)]
        per_job = timed_ms(lambda: [backend.status([job_id]) for job_id in ids])
        for job_id in ids:
            backend.cancel(job_id)
        deadline = time.monotonic() + 120
        while not all(s.state.final for s in backend.status(ids).values()):
            if time.monotonic() > deadline:
                raise SystemExit("jobs did not end within 120 s of their cancellation")
            time.sleep(0.2)
        finished = [timed_ms(lambda: backend.status(ids)) for _ in range(args.repeat)]
    p50 = statistics.median(batched)
    print(
        json.dumps(
            {
                "jobs": args.jobs,
                "running": counts["running"],
                "pending": counts["pending"],
                "submit_ms_per_job": round(submit_ms, 2),
                "status_batched_ms": {"p50": round(p50, 1), "max": round(max(batched), 1)},
                "status_per_job_total_ms": round(per_job, 1),
                "per_job_vs_batched": round(per_job / p50, 1),
                "status_batched_finished_ms": {"p50": round(statistics.median(finished), 1)},
                "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
