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
import resource
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, overload

import numpy as np

from pnyx.errors import InvalidInputError
from pnyx.native import build_name
from pnyx.sched import Facility, JobRequest, SchedulerState
from pnyx.sim.engine import OUTCOMES, Engine, EngineConfig, RunStats, Samples, Segments
from pnyx.sim.metrics import SegmentTable, compute_metrics
from pnyx.sim.policies import policy_setup
from pnyx.sim.trace import Workload, load_trace, scale_load, select_window

PER_NODE = 8
POD_NODES = 32
CHUNK = 65_536
"""Jobs whose requests' values are converted to Python at a time."""


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
    release_passes: bool = False
    """With ``tick_s > 0``: a release pass whenever jobs end between two ticks."""

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


class WorkloadJobs(Sequence[JobRequest]):
    """The job requests of a workload, built when asked (job id = position in the workload).

    Requests are made from the workload's arrays a chunk of Python values at a time, so that
    the engine, which asks for each job once at its submission, never holds them all.
    """

    def __init__(self, work: Workload, config: ReplayConfig, exact_limits: bool) -> None:
        rng = np.random.default_rng(config.seed + 1)
        self.any_type = rng.random(work.jobs) < 0.5
        self.one_type = rng.integers(0, config.types, work.jobs).astype(np.int8)
        self.work = work
        self.factor = 1.0 if exact_limits else config.overestimate
        self.types = config.types
        self.checkpoint_s = config.checkpoint_interval_s
        self._everything = tuple(range(config.types))
        self._single = [(t,) for t in range(config.types)]
        self._n = work.jobs
        self._base = -2 * CHUNK
        self._cols: tuple[list[Any], ...] = ()

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, j: int) -> JobRequest: ...

    @overload
    def __getitem__(self, j: slice) -> list[JobRequest]: ...

    def __getitem__(self, j: int | slice) -> JobRequest | list[JobRequest]:
        if isinstance(j, slice):
            return [self[i] for i in range(*j.indices(self._n))]
        k = j - self._base
        if not 0 <= k < CHUNK:
            if not -self._n <= j < self._n:
                raise IndexError(j)
            j %= self._n
            self._load(j - j % CHUNK)
            k = j - self._base
        submit, limit, acc, member, type_code, per_node = self._cols
        t, m = type_code[k], member[k]
        # positional: job_id, project, member, programme, user, accelerators, per_node, types,
        # containment, time_limit_s, submit_s, preemptible, checkpoint_interval_s
        return JobRequest(
            j,
            m,
            m,
            0,
            m,
            acc[k],
            per_node[k] or None,
            self._everything if t < 0 else self._single[t],
            1,
            limit[k],
            submit[k],
            True,
            self.checkpoint_s,
        )

    def _load(self, base: int) -> None:
        """Convert the values of jobs ``base .. base + CHUNK`` to Python lists."""
        w, end = self.work, base + CHUNK
        self._base = base
        acc = w.accelerators[base:end]
        gang = (acc > PER_NODE) & (acc % PER_NODE == 0)
        every = self.any_type[base:end] | (self.types == 1)
        self._cols = (
            w.submit_s[base:end].tolist(),
            np.ceil(w.runtime_s[base:end] * self.factor).astype(np.int64).tolist(),
            acc.tolist(),
            w.member[base:end].tolist(),
            np.where(every, -1, self.one_type[base:end]).tolist(),
            np.where(gang, PER_NODE, 0).tolist(),
        )


def build_jobs(work: Workload, config: ReplayConfig, exact_limits: bool) -> WorkloadJobs:
    """The job requests of ``work`` (job id = position in the workload), built lazily."""
    return WorkloadJobs(work, config, exact_limits)


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


@dataclass(frozen=True)
class Replayed:
    """A replay's outcome: the ``sim run --json`` document, the segments, the fragmentation
    samples (times, free and unusable accelerators, each holding until the next)."""

    out: dict[str, Any]
    seg: SegmentTable
    samples: Samples


def simulate(
    work: Workload, config: ReplayConfig, shares: np.ndarray
) -> tuple[SegmentTable, RunStats]:
    """Run the engine over ``work``; the segments and the engine's counts."""
    seg, stats, _ = simulate_sampled(work, config, shares)
    return seg, stats


def simulate_sampled(
    work: Workload, config: ReplayConfig, shares: np.ndarray
) -> tuple[SegmentTable, RunStats, Samples]:
    """:func:`simulate`, with the engine's fragmentation samples."""
    setup = policy_setup(config.policy)
    fac = sim_facility(config.accelerators, config.types)
    tree_shares: dict[tuple[int, ...], float] = {
        (m,): float(s) for m, s in enumerate(shares.tolist())
    }
    state = SchedulerState(fac, setup.config, shares=tree_shares)
    jobs = build_jobs(work, config, setup.exact_limits)
    engine_config = EngineConfig(
        seed=config.seed,
        tick_s=config.tick_s,
        mtbf_h=config.mtbf_h,
        release_passes=config.release_passes,
    )
    engine = Engine(state, jobs, work.runtime_s, engine_config, work.submit_s, work.window_s)
    segments = engine.run()
    return segment_table(work, segments), engine.stats, engine.samples


def replay(
    work: Workload, config: ReplayConfig, given_shares: dict[str, float] | None = None
) -> tuple[dict[str, Any], SegmentTable]:
    """Simulate and measure: the ``sim run --json`` document and the segments."""
    done = replay_sampled(work, config, given_shares)
    return done.out, done.seg


def replay_sampled(
    work: Workload, config: ReplayConfig, given_shares: dict[str, float] | None = None
) -> Replayed:
    """:func:`replay`, keeping the fragmentation samples (for a report)."""
    shares = enacted_shares(work.members, given_shares)
    seg, stats, samples = simulate_sampled(work, config, shares)
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
        "fragmentation": fragmentation(stats),
        "one_pod": one_pod(stats),
        "never_fits": stats.never_fits,
        "passes": stats.passes,
        "release_passes": stats.release_passes,
        "events": stats.events,
        "jobs_per_s": work.jobs / stats.wall_s if stats.wall_s > 0 else 0.0,
        "peak_rss_mib": peak_rss_mib(),
        "wall_s": stats.wall_s,
        "build": build_name(),
    }
    return Replayed(out, seg, samples)


def fragmentation(stats: RunStats) -> dict[str, float]:
    """Time-averaged over the window, sampled after each pass: free accelerators, those free
    while some job was pending, those no pending job could use, and their fraction of the
    free ones."""
    span = stats.sampled_s
    free = stats.free_accel_s / span if span > 0 else 0.0
    unusable = stats.unusable_accel_s / span if span > 0 else 0.0
    waiting = stats.waiting_free_accel_s / span if span > 0 else 0.0
    return {
        "free_accelerators": free,
        "free_while_jobs_wait": waiting,
        "unusable_accelerators": unusable,
        "fraction_of_free": unusable / free if free > 0 else 0.0,
    }


def one_pod(stats: RunStats) -> dict[str, Any]:
    """Multi-node starts, those for which one pod had room, and the fraction of these placed
    within one pod (None when there were none)."""
    possible = stats.one_pod_possible
    return {
        "multi_node_starts": stats.multi_node_starts,
        "one_pod_possible": possible,
        "placed_in_one_pod": stats.one_pod_placed,
        "fraction": stats.one_pod_placed / possible if possible else None,
    }


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
