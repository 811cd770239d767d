"""`pnyx sim run`: replay a workload on a simulated facility under one policy, with metrics.

The simulated facility for N accelerators: nodes of 8 in pods of 32 nodes (the last pod may
be smaller), one cluster, CL-2 everywhere; with ``types`` > 1 the pods are split evenly among
type codes 0..types-1. Jobs: each trace member is a member of the fair-share tree (one
programme, one project and one user per member); time limit = runtime x ``overestimate``
(the oracle policy uses the runtime); jobs of more than 8 accelerators that are a multiple of
8 run as gangs of 8 per node, others pack freely; every job is preemptible and checkpoints
every ``checkpoint_interval_s``. With several types, a seeded half of the jobs accept every
type and the rest one random type.
"""

from __future__ import annotations

import csv
import json
import math
import resource
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from pnyx.errors import InvalidInputError
from pnyx.sched import Facility, JobRequest, SchedulerState
from pnyx.sim.engine import OUTCOMES, Engine, EngineConfig, RunStats, Segments
from pnyx.sim.metrics import SegmentTable, compute_metrics
from pnyx.sim.policies import policy_setup
from pnyx.sim.trace import Workload, load_trace, scale_load, select_window

PER_NODE = 8
POD_NODES = 32


@dataclass(frozen=True)
class ReplayConfig:
    """One replay: facility size, policy and job knobs."""

    accelerators: int
    policy: str
    seed: int = 0
    types: int = 1
    overestimate: float = 1.5
    """Time limit = runtime x this (users over-request)."""
    checkpoint_interval_s: float = 1800.0
    tick_s: float = 0.0
    mtbf_h: float = 0.0

    def __post_init__(self) -> None:
        if self.accelerators < PER_NODE or self.accelerators % PER_NODE:
            raise InvalidInputError(f"--accelerators must be a positive multiple of {PER_NODE}")
        if not 1 <= self.types <= 8:
            raise InvalidInputError("--types must be 1..8")
        if self.overestimate < 1.0:
            raise InvalidInputError("the over-estimate factor must be >= 1 (limits >= runtimes)")
        if not self.checkpoint_interval_s > 0:
            raise InvalidInputError("checkpoint_interval_s must be > 0")


def sim_facility(accelerators: int, types: int = 1) -> Facility:
    """Nodes of 8 in pods of 32 nodes, one cluster, CL-2; pods split evenly among types."""
    nodes = accelerators // PER_NODE
    pod = np.arange(nodes) // POD_NODES
    n_pods = int(pod[-1]) + 1
    if types > n_pods:
        raise InvalidInputError(f"{types} types need at least {types} pods of {POD_NODES} nodes")
    pod_type = np.arange(n_pods) * types // n_pods
    return Facility.from_arrays(
        total=np.full(nodes, PER_NODE),
        type_code=pod_type[pod],
        pod=pod,
        cluster=np.zeros(nodes, dtype=np.int64),
        containment=np.full(nodes, 2),
    )


def build_jobs(work: Workload, config: ReplayConfig, exact_limits: bool) -> list[JobRequest]:
    """The job requests of ``work`` (job id = position in the workload)."""
    rng = np.random.default_rng(config.seed + 1)
    any_type = rng.random(work.jobs) < 0.5
    one_type = rng.integers(0, config.types, work.jobs)
    factor = 1.0 if exact_limits else config.overestimate
    everything = tuple(range(config.types))
    out = []
    for j, (submit, runtime, acc, member) in enumerate(
        zip(
            work.submit_s.tolist(),
            work.runtime_s.tolist(),
            work.accelerators.tolist(),
            work.member.tolist(),
            strict=True,
        )
    ):
        types = everything if any_type[j] or config.types == 1 else (int(one_type[j]),)
        gang = acc > PER_NODE and acc % PER_NODE == 0
        out.append(
            JobRequest(
                job_id=j,
                project=member,
                member=member,
                programme=0,
                user=member,
                accelerators=acc,
                per_node=PER_NODE if gang else None,
                types=types,
                containment=1,
                time_limit_s=math.ceil(runtime * factor),
                submit_s=submit,
                preemptible=True,
                checkpoint_interval_s=config.checkpoint_interval_s,
            )
        )
    return out


def enacted_shares(members: tuple[str, ...], given: dict[str, float] | None) -> np.ndarray:
    """Shares per member, normalised to sum 1 (equal when none are given)."""
    if not given:
        return np.full(len(members), 1.0 / len(members))
    values = np.array([float(given.get(m, 0.0)) for m in members])
    if values.min() < 0 or not values.sum() > 0:
        raise InvalidInputError("shares must be >= 0 and some member of the window must have one")
    out: np.ndarray = values / values.sum()
    return out


def segment_table(work: Workload, segments: Segments) -> SegmentTable:
    """The engine's segments as arrays, with each job's member, size and submission."""
    job = np.asarray(segments.job, dtype=np.int64)
    return SegmentTable(
        job=job,
        member=work.member[job],
        accelerators=work.accelerators[job],
        submit_s=work.submit_s[job],
        start_s=np.asarray(segments.start_s, dtype=np.float64),
        end_s=np.asarray(segments.end_s, dtype=np.float64),
        outcome=np.asarray(segments.outcome, dtype=np.int64),
    )


def simulate(
    work: Workload, config: ReplayConfig, shares: np.ndarray
) -> tuple[SegmentTable, RunStats]:
    """Run the engine over ``work``; the segments and the engine's counts."""
    setup = policy_setup(config.policy)
    fac = sim_facility(config.accelerators, config.types)
    tree_shares: dict[tuple[int, ...], float] = {
        (m,): float(s) for m, s in enumerate(shares.tolist())
    }
    state = SchedulerState(fac, setup.config, shares=tree_shares)
    jobs = build_jobs(work, config, setup.exact_limits)
    engine_config = EngineConfig(seed=config.seed, tick_s=config.tick_s, mtbf_h=config.mtbf_h)
    engine = Engine(state, jobs, work.runtime_s, engine_config)
    segments = engine.run()
    return segment_table(work, segments), engine.stats


def replay(
    work: Workload, config: ReplayConfig, given_shares: dict[str, float] | None = None
) -> tuple[dict[str, Any], SegmentTable]:
    """Simulate and measure: the ``sim run --json`` document and the segments."""
    shares = enacted_shares(work.members, given_shares)
    seg, stats = simulate(work, config, shares)
    metrics = compute_metrics(
        seg, config.accelerators, work.window_s, shares, stats.preempted_lost_accel_s
    )
    delivered = metrics.pop("delivered_share")
    out = {
        "policy": config.policy,
        "jobs": work.jobs,
        "accelerators": config.accelerators,
        **metrics,
        "members": {
            m: {"enacted_share": float(shares[i]), "delivered_share": float(delivered[i])}
            for i, m in enumerate(work.members)
        },
        "offered_load": work.offered_load(config.accelerators),
        "window_s": work.window_s,
        "never_fits": stats.never_fits,
        "passes": stats.passes,
        "events": stats.events,
        "jobs_per_s": work.jobs / stats.wall_s if stats.wall_s > 0 else 0.0,
        "peak_rss_mib": peak_rss_mib(),
        "wall_s": stats.wall_s,
    }
    return out, seg


def peak_rss_mib() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_segments(path: Path, seg: SegmentTable, members: tuple[str, ...]) -> None:
    """The per-segment CSV of DESIGN section 8 (members by name)."""
    order = np.lexsort((seg.start_s, seg.job))
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(("job", "member", "accelerators", "submit_s", "start_s", "end_s", "outcome"))
        for i in order.tolist():
            out.writerow(
                (
                    int(seg.job[i]),
                    members[int(seg.member[i])],
                    int(seg.accelerators[i]),
                    f"{seg.submit_s[i]:.3f}",
                    f"{seg.start_s[i]:.3f}",
                    f"{seg.end_s[i]:.3f}",
                    OUTCOMES[int(seg.outcome[i])],
                )
            )


def load_shares(path: Path) -> dict[str, float]:
    """A shares file: JSON ``{member: share}``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InvalidInputError(f"shares file {path}: {e}") from e
    if not isinstance(data, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in data.values()
    ):
        raise InvalidInputError(f"shares file {path}: expected a JSON object {{member: share}}")
    return {str(k): float(v) for k, v in data.items()}


def prepare(
    trace: Path,
    start: datetime | None,
    end: datetime | None,
    load: float | None,
    config: ReplayConfig,
) -> Workload:
    """The workload of ``trace`` in ``[start, end)``, rescaled to ``load`` when given."""
    work = select_window(load_trace(trace), start, end)
    if load is not None:
        work = scale_load(work, load, config.accelerators, config.seed)
    return work
