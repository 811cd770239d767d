"""The simulator report's series and the what-if mapping, on tiny hand-computed inputs."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from pnyx.sim.metrics import DAY_S, SegmentTable
from pnyx.sim.report import member_days, utilisation_series, wait_histogram
from pnyx.sim.trace import Workload
from pnyx.sim.whatif import delivered_hours, first_waits, map_members


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


def workload(members: tuple[str, ...], member: list[int], demand: list[float]) -> Workload:
    n = len(member)
    return Workload(
        submit_s=np.zeros(n),
        runtime_s=np.array(demand, dtype=float),
        accelerators=np.ones(n, dtype=np.int64),
        member=np.array(member, dtype=np.int64),
        members=members,
        window_s=2 * DAY_S,
        start=datetime(2017, 11, 14),
    )


# job 0 (member 0, 4 acc) runs hour 0-2; job 1 (member 1, 8 acc) waits 1 h, runs 1-3 h,
# preempted, runs again 5-6 h; job 2 (member 0, 2 acc) waits a day
SEGMENTS = table(
    [
        (0, 0, 4, 0.0, 0.0, 7200.0, 0),
        (1, 1, 8, 0.0, 3600.0, 10800.0, 1),
        (1, 1, 8, 0.0, 18000.0, 21600.0, 0),
        (2, 0, 2, 0.0, DAY_S, DAY_S + 3600.0, 0),
    ]
)


def test_utilisation_per_hour_is_busy_over_capacity() -> None:
    series = utilisation_series(SEGMENTS, 16, 2 * DAY_S)
    assert series["bucket_s"] == 3600.0 and len(series["values"]) == 48
    assert series["values"][:7] == [4 / 16, 12 / 16, 8 / 16, 0.0, 0.0, 8 / 16, 0.0]
    assert series["values"][24] == 2 / 16


def test_long_windows_get_coarser_buckets() -> None:
    series = utilisation_series(SEGMENTS, 16, 30 * DAY_S)
    assert series["bucket_s"] == 3 * 3600.0 and len(series["values"]) == 240
    assert series["values"][0] == pytest.approx((4 * 2 + 8 * 2) / (16 * 3))


def test_wait_histogram_counts_first_waits() -> None:
    hist = wait_histogram(SEGMENTS)
    # waits: 0 s, 3600 s, 86400 s -> bins [0,60), [3600,14400), [86400,259200)
    assert hist["counts"] == [1, 0, 0, 1, 0, 0, 1, 0]
    assert sum(hist["counts"]) == 3


def test_member_days_delivered_and_entitled() -> None:
    work = workload(("a", "b"), [0, 1, 0], [7200.0, 10800.0, 3600.0])
    days, members = member_days(SEGMENTS, work, 16, np.array([0.5, 0.5]))
    assert days == ["2017-11-14", "2017-11-15"]
    day1_a, day1_b = 4 * 7200.0, 8 * (7200.0 + 3600.0)
    assert members["a"]["delivered_share"][0] == pytest.approx(day1_a / (day1_a + day1_b), 1e-5)
    assert members["a"]["delivered_share"][1] == pytest.approx(1.0)
    assert members["b"]["delivered_share"][1] == 0.0
    assert members["b"]["enacted_share"] == 0.5
    assert all(0 <= v <= 1 for v in members["a"]["entitled_share"])


def test_delivered_hours_and_waits_per_member() -> None:
    hours = delivered_hours(SEGMENTS, 2 * DAY_S, 2)
    assert hours.tolist() == pytest.approx([(4 * 7200 + 2 * 3600) / 3600, 8 * 3 * 3600 / 3600])
    waits = first_waits(SEGMENTS, 3)
    assert waits.tolist() == [DAY_S / 2, 3600.0, 0.0]


def test_mapping_deals_clusters_by_demand() -> None:
    work = workload(("x", "y", "z"), [0, 1, 2, 2], [10.0, 30.0, 5.0, 50.0])
    mapped, mapping = map_members(work, ["fr", "de"])
    # demand z 55 > y 30 > x 10: z -> de, y -> fr, x -> de
    assert mapping == {"z": "de", "y": "fr", "x": "de"}
    assert mapped.members == ("de", "fr")
    assert mapped.member.tolist() == [0, 1, 0, 0]
    assert map_members(work, ["fr", "de"])[1] == mapping  # deterministic
