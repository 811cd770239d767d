"""bench/bench_sim.py --member-days: the per member-day table agrees with the metrics."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from pnyx.sim.replay import ReplayConfig, prepare, replay

ROOT = Path(__file__).parents[3]
SAMPLE = ROOT / "tests" / "data" / "philly-sample.csv"
CAPACITY = 64


@pytest.mark.parametrize("policy", ["backfill", "pnyx"])
def test_member_days_give_the_metrics_mean_max_and_utilisation(
    policy: str, bench_sim: ModuleType
) -> None:
    work = prepare(SAMPLE, None, None, 1.5, ReplayConfig(CAPACITY, policy))
    out, seg = replay(work, ReplayConfig(CAPACITY, policy))
    table = bench_sim.member_days(work, seg, CAPACITY)
    counted = [v for row in table["deviation_pp"].values() for v in row if v is not None]
    assert len(counted) == out["member_days"] > 0
    assert np.mean(np.abs(counted)) == pytest.approx(out["share_deviation_pp"]["mean"], abs=2e-3)
    assert np.max(np.abs(counted)) == pytest.approx(out["share_deviation_pp"]["max"], abs=2e-3)
    days = table["day_utilisation_pct"]
    window_days = np.diff(np.minimum(np.arange(len(days) + 1) * 86_400.0, out["window_s"]))
    mean = float(np.dot(days, window_days) / window_days.sum())
    assert mean == pytest.approx(out["utilisation"] * 100.0, abs=0.02)
    assert set(table["deviation_pp"]) == set(work.members)
