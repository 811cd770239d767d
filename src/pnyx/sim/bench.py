"""`pnyx sim bench`: the scheduling core under a synthetic facility and job mix.

The facility: nodes of 8 accelerators in pods of 32 nodes, 4 accelerator types (40/30/20/10 %
of the pods), one cluster per type, plus a CL-3 region (a separate cluster of type-0 pods) and
a small CL-4 cluster. Jobs: many of 1-8 accelerators, some of 16-256, a few of 512-2048; most
multi-node jobs are gangs of 8 per node; 30 % accept a second type; 5 % need CL-3 or CL-4.

The run: fill the facility with ``running`` jobs (one pass, timed: the *fill* throughput),
queue ``pending`` more, then repeat ``passes`` times: advance time to the moment ``churn``
running jobs have ended (each runs a random fraction of its time limit), release them, submit
new jobs to keep ``pending`` queued, run one full scheduling pass. ``decisions_per_s`` is jobs
started per second of scheduler time in that loop (release + submit + pass); ``pass_ms`` are the
full passes (priority + placement + backfill over the whole queue). ``decisions_per_cpu_s`` and
``pass_cpu_ms`` are the same in CPU time of the process (comparable on a loaded machine, where
the wall figures include waiting for a core), and ``load_average`` is the machine's at the end.
"""

from __future__ import annotations

import dataclasses
import gc
import heapq
import os
import resource
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from pnyx.errors import InvalidInputError
from pnyx.native import build_name
from pnyx.sched import (
    Facility,
    JobRequest,
    SchedulerConfig,
    SchedulerState,
    Start,
    schedule_pass,
)
from pnyx.sched.facility import BoolArray, FloatArray, IntArray

PER_NODE = 8
POD_NODES = 32
TYPE_SHARE = (0.4, 0.3, 0.2, 0.1)
SMALL = ((1, 2, 4, 8), (0.55, 0.2, 0.15, 0.1))
MEDIUM = ((16, 32, 64, 128, 256), (0.35, 0.25, 0.2, 0.12, 0.08))
LARGE = ((512, 1024, 2048), (0.6, 0.3, 0.1))


@dataclass(frozen=True)
class BenchConfig:
    """One benchmark scenario."""

    accelerators: int = 100_000
    pending: int = 10_000
    running: int = 30_000
    seed: int = 0
    passes: int = 20
    churn: int = 1_000
    reservations: int = 1

    def __post_init__(self) -> None:
        if self.accelerators < PER_NODE * POD_NODES:
            raise InvalidInputError(f"accelerators must be >= {PER_NODE * POD_NODES} (one pod)")
        if min(self.pending, self.running, self.passes, self.churn) < 0 or self.passes < 1:
            raise InvalidInputError("pending, running, churn must be >= 0 and passes >= 1")


def bench_facility(accelerators: int) -> Facility:
    """The synthetic facility of about ``accelerators`` accelerators (see module docstring)."""
    nodes = accelerators // PER_NODE
    pod = np.arange(nodes) // POD_NODES
    n_pods = int(pod[-1]) + 1
    bounds = np.floor(np.cumsum(TYPE_SHARE) * n_pods).astype(int)
    pod_type = np.searchsorted(bounds, np.arange(n_pods), side="right").clip(0, 3)
    pod_level = np.full(n_pods, 2)
    pod_cluster = pod_type.copy()
    secure = np.flatnonzero(pod_type == 0)[: max(1, n_pods // 25)]
    pod_level[secure], pod_cluster[secure] = 3, 4
    if n_pods >= 40:
        sealed = np.flatnonzero(pod_type == 1)[: n_pods // 100 + 1]
        pod_level[sealed], pod_cluster[sealed] = 4, 5
    return Facility.from_arrays(
        total=np.full(nodes, PER_NODE),
        type_code=pod_type[pod],
        pod=pod,
        cluster=pod_cluster[pod],
        containment=pod_level[pod],
    )


class JobMix:
    """Seeded synthetic jobs, with the hierarchy member > programme > project > user."""

    def __init__(self, rng: np.random.Generator, n_types: int) -> None:
        self.rng = rng
        self.n_types = n_types
        self.next_id = 0
        self.runtime: dict[int, float] = {}

    def _sizes(self, n: int, small_only: bool) -> IntArray:
        rng = self.rng
        out = rng.choice(SMALL[0], size=n, p=SMALL[1])
        if not small_only:
            r = rng.random(n)
            medium, large = (r >= 0.8) & (r < 0.97), r >= 0.97
            out[medium] = rng.choice(MEDIUM[0], size=int(medium.sum()), p=MEDIUM[1])
            out[large] = rng.choice(LARGE[0], size=int(large.sum()), p=LARGE[1])
        return out.astype(np.int64)

    def batch(self, n: int, submit_s: float, small_only: bool = False) -> list[JobRequest]:
        """``n`` jobs; each one's actual runtime (a fraction of its limit) goes to ``runtime``."""
        rng = self.rng
        size = self._sizes(n, small_only)
        gang = ((size > PER_NODE) & (rng.random(n) < 0.85)) | (
            (size == PER_NODE) & (rng.random(n) < 0.5)
        )
        share = np.asarray(TYPE_SHARE[: self.n_types]) / sum(TYPE_SHARE[: self.n_types])
        first = rng.choice(self.n_types, size=n, p=share)
        second = (rng.random(n) < 0.3) & (self.n_types > 1)
        level = rng.choice(4, size=n, p=(0.75, 0.2, 0.04, 0.01)) + 1
        limit = np.clip(rng.lognormal(np.log(4 * 3600), 1.0, size=n), 600, 7 * 86_400)
        frac = rng.uniform(0.05, 1.0, size=n)
        member = (rng.zipf(1.6, size=n) - 1) % 20
        project = member * 10 + rng.integers(10, size=n)
        user = project * 5 + rng.integers(5, size=n)
        preempt = rng.random(n) < 0.5
        jobs = []
        for i in range(n):
            self.next_id += 1
            self.runtime[self.next_id] = float(limit[i] * frac[i])
            jobs.append(
                self._job(
                    i,
                    size,
                    gang,
                    first,
                    second,
                    level,
                    limit,
                    project,
                    member,
                    user,
                    preempt,
                    submit_s,
                )
            )
        return jobs

    def _job(
        self,
        i: int,
        size: IntArray,
        gang: BoolArray,
        first: IntArray,
        second: BoolArray,
        level: IntArray,
        limit: FloatArray,
        project: IntArray,
        member: IntArray,
        user: IntArray,
        preempt: BoolArray,
        submit_s: float,
    ) -> JobRequest:
        t = int(first[i])
        types = (t, (t + 1) % self.n_types) if second[i] else (t,)
        acc, per_node, cl = int(size[i]), PER_NODE if gang[i] else None, int(level[i])
        if cl >= 3:
            acc = min(acc, 64)
            per_node = None if acc < 16 else PER_NODE
            types = (0, 1) if self.n_types > 1 else (0,)
        return JobRequest(
            job_id=self.next_id,
            project=int(project[i]),
            member=int(member[i]),
            programme=int(project[i]) % 5,
            user=int(user[i]),
            accelerators=acc,
            per_node=per_node,
            types=types,
            containment=cl,
            time_limit_s=float(limit[i]),
            submit_s=submit_s,
            preemptible=bool(preempt[i]),
            checkpoint_interval_s=1800.0,
        )


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Bench:
    """The scheduler state, the job mix and the completion heap of one run."""

    def __init__(self, cfg: BenchConfig) -> None:
        self.cfg = cfg
        self.fac = bench_facility(cfg.accelerators)
        self.mix = JobMix(np.random.default_rng(cfg.seed), self.fac.n_types)
        shares: dict[tuple[int, ...], float] = {(m,): 1.0 for m in range(20)}
        config = SchedulerConfig(reservations=cfg.reservations)
        self.state = SchedulerState(self.fac, config, shares=shares)
        self.ends: list[tuple[float, int]] = []
        self.now_s = 0.0
        self.stats: Counter[str] = Counter()
        self.cpu_s = 0.0
        self.pass_cpu_s: list[float] = []

    def _record(self, started: list[int]) -> None:
        for job_id in started:
            heapq.heappush(self.ends, (self.now_s + self.mix.runtime.pop(job_id), job_id))

    def fill(self) -> dict[str, float]:
        """Start the initial running jobs in one greedy pass (no reservations); its timing."""
        target = int(0.25 * self.fac.accelerators)
        queued = 0
        while queued < target:
            for job in self.mix.batch(64, -3600.0):
                queued += job.accelerators
                self.state.submit(job)
        small = max(0, self.cfg.running - len(self.state.pending))
        for job in self.mix.batch(small, -3600.0, small_only=True):
            self.state.submit(job)
        config = self.state.config
        self.state.config = dataclasses.replace(config, reservations=0)
        t0 = time.perf_counter()
        decisions = schedule_pass(self.state, self.now_s)
        wall = time.perf_counter() - t0
        self.state.config = config
        self._record([s.job_id for s in decisions.started])
        for job in self.state.pending.jobs():
            self.state.cancel(job.job_id)
            self.mix.runtime.pop(job.job_id, None)
        return {
            "jobs": len(decisions.started),
            "pass_s": wall,
            "placements_per_s": len(decisions.started) / wall,
        }

    def top_up(self) -> None:
        """Queue new jobs until ``pending`` are waiting."""
        for job in self.mix.batch(self.cfg.pending - len(self.state.pending), self.now_s):
            self.state.submit(job)

    def step(self) -> tuple[float, float, int, int]:
        """Release ``churn`` ended jobs, top up, pass.

        Returns (scheduler seconds, pass seconds, started, considered); generating the
        synthetic jobs is not counted. The CPU seconds of the same spans are added to
        ``cpu_s`` (scheduler) and appended to ``pass_cpu_s``.
        """
        ended = [heapq.heappop(self.ends) for _ in range(min(self.cfg.churn, len(self.ends)))]
        self.now_s = max([self.now_s] + [end for end, _ in ended])
        fresh = self.mix.batch(max(0, self.cfg.pending - len(self.state.pending)), self.now_s)
        t0, c0 = time.perf_counter(), time.process_time()
        for _, job_id in ended:
            self.state.release(job_id, self.now_s)
        for job in fresh:
            self.state.submit(job)
        t1, c1 = time.perf_counter(), time.process_time()
        decisions = schedule_pass(self.state, self.now_s)
        t2, c2 = time.perf_counter(), time.process_time()
        self.cpu_s += c2 - c0
        self.pass_cpu_s.append(c2 - c1)
        self._record([s.job_id for s in decisions.started])
        self._tally(decisions.started)
        return t2 - t0, t2 - t1, len(decisions.started), decisions.considered

    def _tally(self, started: list[Start]) -> None:
        pod = self.fac.pod_of
        for s in started:
            self.stats["backfilled"] += s.backfilled
            if len(s.allocation.nodes) > 1:
                self.stats["multi_node"] += 1
                self.stats["one_pod"] += len({pod[n] for n in s.allocation.nodes}) == 1


def run_bench(cfg: BenchConfig) -> dict[str, object]:
    """Run the scenario and return the DESIGN §7 figures plus details."""
    bench = Bench(cfg)
    fill = bench.fill()
    running_at_start = len(bench.state.running.jobs)
    bench.top_up()
    bench.step()  # warm-up: the first pass over the full queue
    bench.stats.clear()
    bench.cpu_s, bench.pass_cpu_s = 0.0, []
    gc.collect()
    gc.freeze()  # what a long-running scheduler does after start-up: old objects stay put
    loop_s, started, considered, passes = 0.0, 0, 0, []
    for _ in range(cfg.passes):
        spent, pass_s, n_started, n_considered = bench.step()
        loop_s += spent
        started += n_started
        considered += n_considered
        passes.append(pass_s * 1000.0)
    busy = 1.0 - bench.state.index.total_free() / bench.fac.accelerators
    out: dict[str, object] = {
        "accelerators": bench.fac.accelerators,
        "pending": cfg.pending,
        "running": running_at_start,
        "decisions_per_s": started / loop_s if loop_s > 0 else 0.0,
        "pass_ms": {
            "p50": float(np.percentile(passes, 50)),
            "p99": float(np.percentile(passes, 99)),
            "max": float(np.max(passes)),
        },
        "decisions_per_cpu_s": started / bench.cpu_s if bench.cpu_s > 0 else 0.0,
        "pass_cpu_ms": {
            "p50": float(np.percentile(bench.pass_cpu_s, 50)) * 1000.0,
            "p99": float(np.percentile(bench.pass_cpu_s, 99)) * 1000.0,
        },
        "load_average": list(os.getloadavg()),
        "peak_rss_mib": peak_rss_mib(),
        "passes": cfg.passes,
        "started_per_pass": started / cfg.passes,
        "considered_per_s": considered / (sum(passes) / 1000.0),
        "fill": fill,
        "utilisation": busy,
        "backfilled_fraction": bench.stats["backfilled"] / max(started, 1),
        "multi_node_one_pod_fraction": bench.stats["one_pod"] / max(bench.stats["multi_node"], 1),
        "seed": cfg.seed,
        "build": build_name(),
    }
    gc.unfreeze()
    return out
