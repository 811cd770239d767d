"""Metrics of DESIGN section 8 on tiny hand-computed segment tables."""

from __future__ import annotations

import numpy as np
import pytest

from pnyx.sched.priority import water_fill
from pnyx.sim.metrics import (
    DAY_S,
    SegmentTable,
    bucket_bounds,
    compute_metrics,
    job_metrics,
    per_bucket,
    share_metrics,
    utilisation,
    waiting_days,
)


def table(rows: list[tuple[int, int, int, float, float, float, int]]) -> SegmentTable:
    cols = list(zip(*rows, strict=True))
    return SegmentTable(
        job=np.array(cols[0], dtype=np.int64),
        member=np.array(cols[1], dtype=np.int64),
        accelerators=np.array(cols[2], dtype=np.int64),
        submit_s=np.array(cols[3], dtype=float),
        start_s=np.array(cols[4], dtype=float),
        end_s=np.array(cols[5], dtype=float),
        outcome=np.array(cols[6], dtype=np.int64),
    )


@pytest.mark.parametrize(
    ("capacity", "demand", "weight", "want"),
    [
        (10, [2, 20], [1, 1], [2, 8]),  # the small one is satisfied, the rest goes on
        (10, [20, 20], [3, 1], [7.5, 2.5]),  # both bottlenecked: split by weight
        (12, [1, 20, 20], [1, 1, 2], [1, 11 / 3, 22 / 3]),  # two rounds
        (10, [3, 4], [1, 1], [3, 4]),  # everyone satisfied, capacity left over
        (10, [0, 20], [1, 1], [0, 10]),  # no demand, no entitlement
        (10, [5, 20], [1, 0], [5, 5]),  # zero weight: only the leftover
    ],
)
def test_water_fill_is_exact(
    capacity: float, demand: list[float], weight: list[float], want: list[float]
) -> None:
    got = water_fill(capacity, np.array(demand, float), np.array(weight, float))
    assert got == pytest.approx(want)


def test_per_bucket_splits_intervals_over_days() -> None:
    bounds = bucket_bounds(2 * DAY_S)
    got = per_bucket(
        np.array([0, 1]),
        np.array([2.0, 1.0]),
        np.array([DAY_S - 100, 0.0]),
        np.array([DAY_S + 50, 10.0]),
        bounds,
        2,
    )
    assert got.tolist() == [[200.0, 100.0], [10.0, 0.0]]


def test_bucket_bounds_keep_a_partial_last_day() -> None:
    assert bucket_bounds(1.5 * DAY_S).tolist() == [0.0, DAY_S, 1.5 * DAY_S]


def test_waiting_days_count_requeue_gaps_and_not_instant_starts() -> None:
    seg = table(
        [
            (0, 0, 1, 0.0, 0.0, 10.0, 1),  # member 0 starts at once on day 0 ...
            (0, 0, 1, 0.0, DAY_S + 5, DAY_S + 9, 0),  # ... preempted, waits into day 1
            (1, 1, 1, 2 * DAY_S + 1, 2 * DAY_S + 1, 2 * DAY_S + 9, 0),  # never waits
        ]
    )
    got = waiting_days(seg, bucket_bounds(3 * DAY_S), 2)
    assert got.tolist() == [[True, True, False], [False, False, False]]


def test_share_deviation_counts_only_member_days_with_waiting_jobs() -> None:
    # capacity 2 for one day. Member 0: a 2-accelerator job waits half the day, runs half.
    # Member 1: a 1-accelerator job runs the whole day without waiting.
    half = DAY_S / 2
    seg = table(
        [
            (0, 0, 2, 0.0, half, DAY_S, 0),
            (1, 1, 1, 0.0, 0.0, DAY_S, 0),
        ]
    )
    out = share_metrics(seg, 2, DAY_S, np.array([0.5, 0.5]))
    # demands: m0 = 2 x DAY, m1 = 1 x DAY over capacity 2 x DAY: entitled m0 = m1 = DAY.
    # delivered m0 = 2 x half = DAY: deviation 0 (m1 never waited, so it is not counted).
    assert out["member_days"] == 1
    assert out["share_deviation_pp"]["max"] == pytest.approx(0.0)
    assert out["jain_index"] == pytest.approx(1.0)


def test_share_deviation_value_and_jain() -> None:
    # capacity 4, one day. m0's 4-accelerator job waits all day; m1 runs one 4-accelerator
    # job all day while its second one waits all day.
    seg = table(
        [
            (0, 0, 4, 0.0, DAY_S, DAY_S + 10, 0),
            (1, 1, 4, 0.0, 0.0, DAY_S, 0),
            (2, 1, 4, 0.0, DAY_S, DAY_S + 10, 0),
        ]
    )
    out = share_metrics(seg, 4, DAY_S, np.array([0.5, 0.5]))
    # demands 4 and 8 accelerator-days over 4: entitled 2 each; delivered 0 and 4:
    # deviation 2 / 4 = 50 pp for both members.
    assert out["member_days"] == 2
    assert out["share_deviation_pp"] == {"max": pytest.approx(50.0), "mean": pytest.approx(50.0)}
    assert out["delivered_share"] == pytest.approx([0.0, 1.0])
    # delivered / entitled = 0 and 2: Jain = 2^2 / (2 x 4) = 0.5
    assert out["jain_index"] == pytest.approx(0.5)


def test_jobs_wait_jct_slowdown_and_large_jobs() -> None:
    seg = table(
        [
            (0, 0, 64, 0.0, 100.0, 200.0, 1),
            (0, 0, 64, 0.0, 300.0, 400.0, 0),
            (1, 1, 1, 50.0, 50.0, 55.0, 0),
        ]
    )
    out = job_metrics(seg)
    assert out["wait_s"]["mean"] == pytest.approx(50.0)  # 100 and 0
    assert out["jct_s"]["mean"] == pytest.approx((400 + 5) / 2)
    assert out["large_jobs_wait_s"] == {"mean": 100.0, "p99": 100.0, "count": 1}
    # job 0: 400 / 200 = 2; job 1: 5 / max(5, 10) -> 1
    assert out["bounded_slowdown"]["mean"] == pytest.approx(1.5)


def test_utilisation_counts_only_the_window() -> None:
    seg = table([(0, 0, 2, 0.0, 50.0, 150.0, 0)])
    assert utilisation(seg, 4, 100.0) == pytest.approx(2 * 50 / 400)


def test_lost_work_is_a_share_of_delivered() -> None:
    seg = table([(0, 0, 2, 0.0, 0.0, 100.0, 0)])
    out = compute_metrics(seg, 2, 100.0, np.array([1.0]), lost_accel_s=20.0)
    assert out["lost_work_pct"] == pytest.approx(10.0)
