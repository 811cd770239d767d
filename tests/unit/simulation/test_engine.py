"""The engine on the sample trace: determinism, conservation, policies, failures."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pnyx.errors import InvalidInputError
from pnyx.sim.metrics import SegmentTable
from pnyx.sim.policies import Policy
from pnyx.sim.replay import ReplayConfig, prepare, replay, sim_facility, write_segments
from pnyx.sim.trace import Workload

SAMPLE = Path(__file__).parents[2] / "data" / "philly-sample.csv"
CAPACITY = 64


def sample(load: float | None = None, seed: int = 0) -> Workload:
    return prepare(SAMPLE, None, None, load, ReplayConfig(CAPACITY, "fifo", seed=seed))


def check_conservation(work: Workload, seg: SegmentTable, capacity: int) -> None:
    """Every job completes exactly once; its segments never overlap; never over capacity."""
    done = np.bincount(seg.job[seg.outcome == 0], minlength=work.jobs)
    assert done.tolist() == [1] * work.jobs
    order = np.lexsort((seg.start_s, seg.job))
    same = seg.job[order][1:] == seg.job[order][:-1]
    assert np.all(seg.start_s[order][1:][same] >= seg.end_s[order][:-1][same])
    assert np.all(seg.start_s >= seg.submit_s) and np.all(seg.end_s >= seg.start_s)
    times = np.concatenate([seg.start_s, seg.end_s])
    delta = np.concatenate([seg.accelerators, -seg.accelerators])
    busy = np.cumsum(delta[np.lexsort((delta, times))])  # ends before starts at equal times
    assert busy.max() <= capacity


@pytest.mark.parametrize("policy", [p.value for p in Policy])
def test_every_policy_conserves_jobs_and_capacity(policy: str) -> None:
    work = sample()
    out, seg = replay(work, ReplayConfig(CAPACITY, policy))
    check_conservation(work, seg, CAPACITY)
    assert out["jobs"] == work.jobs and 0 < out["utilisation"] <= 1


def test_runtime_is_the_trace_duration_when_never_interrupted() -> None:
    work = sample()
    _, seg = replay(work, ReplayConfig(CAPACITY, "backfill"))
    assert np.allclose(seg.end_s - seg.start_s, work.runtime_s[seg.job])


def test_strict_fifo_starts_jobs_in_submission_order() -> None:
    work = sample()
    _, seg = replay(work, ReplayConfig(CAPACITY, "fifo"))
    first = np.full(work.jobs, np.inf)
    np.minimum.at(first, seg.job, seg.start_s)
    assert np.all(np.diff(first) >= 0)  # job ids are in submission order


@pytest.mark.parametrize(
    ("capacity", "load", "knobs"),
    [
        (CAPACITY * 8, 0.5, {"seed": 5, "types": 2, "mtbf_h": 200.0}),
        (CAPACITY * 2, 1.0, {"seed": 3, "mtbf_h": 100.0, "tick_s": 60.0, "release_passes": True}),
    ],
    ids=["types", "release-passes"],
)
def test_same_seed_same_segments_with_failures(
    tmp_path: Path, capacity: int, load: float, knobs: dict[str, Any]
) -> None:
    config = ReplayConfig(capacity, "pnyx", **knobs)
    work = sample(load=load, seed=knobs["seed"])
    files = []
    for name in ("a.csv", "b.csv"):
        _, seg = replay(work, config)
        write_segments(tmp_path / name, seg, work.members)
        files.append((tmp_path / name).read_text())
    assert files[0] == files[1]
    assert "failed" in files[0]  # the MTBF produced failures, and they were requeued
    check_conservation(work, seg, capacity)


def test_pnyx_preempts_with_little_lost_work() -> None:
    work = sample(load=2.0)
    out, seg = replay(work, ReplayConfig(CAPACITY, "pnyx"))
    check_conservation(work, seg, CAPACITY)
    assert out["preempted_segments"] > 0
    assert 0 < out["lost_work_pct"] < 5


def test_simulated_facility_shape() -> None:
    fac = sim_facility(8 * 40, types=2)
    assert fac.n_nodes == 40 and fac.n_pods == 2
    assert fac.type_code.tolist() == [0] * 32 + [1] * 8


@pytest.mark.parametrize("policy", ["pnyx", "backfill", "fifo"])
def test_release_passes_start_jobs_when_others_end_between_ticks(policy: str) -> None:
    work = sample(load=2.0)
    ticked = ReplayConfig(CAPACITY, policy, tick_s=60.0)
    out0, seg0 = replay(work, ticked)
    out1, seg1 = replay(work, dataclasses.replace(ticked, release_passes=True))
    check_conservation(work, seg1, CAPACITY)
    assert out0["release_passes"] == 0 and np.all(seg0.start_s % 60 == 0)
    off_tick = seg1.start_s % 60 != 0
    assert out1["release_passes"] > 0 and off_tick.any()
    assert set(seg1.start_s[off_tick].tolist()) <= set(seg1.end_s.tolist())


def test_release_passes_need_a_tick() -> None:
    with pytest.raises(InvalidInputError, match="release passes need a tick"):
        replay(sample(), ReplayConfig(CAPACITY, "pnyx", release_passes=True))
