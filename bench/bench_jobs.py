"""Job admission benchmark: what submit_job costs over the plain write path, as the queue grows.

    python bench/bench_jobs.py [--jobs 1000] [--window 100]

On a fresh SQLite store (the demo's awards, the small example facility), ``--jobs``
single-accelerator, 60 s h100 jobs are submitted one after the other (all stay queued, so every
admission scans a growing list of reserved jobs). In the same process, the baseline is the
plain write path with no admission: one usage record per call (one count, one event, one
projection row) via :func:`pnyx.services.accounting.record_usage`, ``--jobs`` times.

- ``submit_ms``: p50 of all submissions, ``submit_first_ms`` / ``submit_last_ms``: p50 of the
  first and last ``--window`` (queue nearly empty vs ``--jobs`` queued);
- ``baseline_ms``: p50 of the baseline writes; ``submit_vs_baseline`` the ratio of the p50s;
- ``list_active_ms``: p50 of ``list_jobs(states=active)`` with every job queued (what a
  dispatcher reads each pass).

Prints one JSON object; figures go to docs/benchmarks.md ("Jobs: admission").
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pnyx.domain.identity import Actor
from pnyx.domain.jobs import ACTIVE
from pnyx.ledger.note import generate_signer
from pnyx.services import accounting, awards, identity, inventory, jobs
from pnyx.services.context import ServiceContext
from pnyx.services.demo_allocation import run_allocation_demo
from pnyx.services.jobs_dto import JobRequest
from pnyx.store.db import Database, url_for_data_dir
from pnyx.store.schema import migrate

SYSTEM = Actor.system()
FACILITY = Path(__file__).resolve().parents[1] / "examples" / "facility-small.yaml"


def setup(data: Path) -> tuple[ServiceContext, str, str]:
    """A store with awards and the small facility; (ctx, project, award) of an h100 award."""
    db = Database(url_for_data_dir(data))
    migrate(db)
    ctx = ServiceContext(db=db, log_signer=generate_signer("pnyx.bench/log"))
    for member in ("de", "fr", "it", "es", "pl"):
        identity.admit_member(ctx, SYSTEM, member, member.upper())
    run_allocation_demo(ctx)
    inventory.load_facility(ctx, SYSTEM, inventory.parse_facility_file(FACILITY))
    best = max(
        (a for a in awards.list_awards(ctx) if a.containment == "CL-1"),
        key=lambda a: a.hours.get("h100", 0),
    )
    return ctx, best.project_id, best.award_id


def p50(samples: list[float]) -> float:
    return round(statistics.median(samples), 3)


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--window", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ctx, project, award = setup(Path(tmp) / "data")
        request = JobRequest(
            project_id=project,
            award_id=award,
            command=["python", "-m", "train"],
            accelerators_per_node=1,
            accelerator_types=["h100"],
            time_limit_s=60,
        )
        submit = [timed(lambda: jobs.submit_job(ctx, SYSTEM, request)) for _ in range(args.jobs)]
        baseline = [
            timed(
                lambda i=i: accounting.record_usage(
                    ctx,
                    SYSTEM,
                    project,
                    "h100",
                    1,
                    "2026-01-01T00:00:00Z",
                    "2026-01-01T00:00:01Z",
                    f"bench-{i}",
                )
            )
            for i in range(args.jobs)
        ]
        active = [s.value for s in ACTIVE]
        listing = [timed(lambda: jobs.list_jobs(ctx, active)) for _ in range(7)]
        queued = len(jobs.list_jobs(ctx, ["queued"]))
        ctx.db.dispose()
    out = {
        "jobs": args.jobs,
        "queued": queued,
        "submit_ms": p50(submit),
        "submit_first_ms": p50(submit[: args.window]),
        "submit_last_ms": p50(submit[-args.window :]),
        "baseline_ms": p50(baseline),
        "submit_vs_baseline": round(statistics.median(submit) / statistics.median(baseline), 2),
        "list_active_ms": p50(listing),
        "machine": f"{platform.machine()} {platform.system()}, python {platform.python_version()}",
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
