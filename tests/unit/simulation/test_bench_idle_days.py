"""bench/bench_sim.py --idle-days: the idle split agrees with the engine's own samples."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from pnyx.sim.replay import ReplayConfig, enacted_shares, prepare, replay, simulate_sampled

ROOT = Path(__file__).parents[3]
SAMPLE = ROOT / "tests" / "data" / "philly-sample.csv"
CAPACITY = 64


@pytest.mark.parametrize("policy", ["backfill", "pnyx"])
def test_after_pass_idle_is_what_the_engine_sampled_after_its_passes(
    policy: str, bench_sim: ModuleType
) -> None:
    config = ReplayConfig(CAPACITY, policy, tick_s=60.0)
    work = prepare(SAMPLE, None, None, 1.5, config)
    seg, stats, samples = simulate_sampled(work, config, enacted_shares(work.members, None))
    table = bench_sim.idle_days(seg, CAPACITY, work.window_s, 60.0)
    span = np.diff(np.minimum(np.arange(len(table["idle"]) + 1) * 86_400.0, work.window_s))
    after = float(np.dot(table["after_pass"], span))
    # before the first pass everything is idle; from then on the engine's samples
    before_first = CAPACITY * min(samples.at_s[0], work.window_s)
    # the table is rounded to 0.01 accelerator per day
    rounding = 0.01 * work.window_s
    assert after == pytest.approx(stats.free_accel_s + before_first, rel=0, abs=rounding)
    awaiting = float(np.dot(table["awaiting_pass"], span))
    assert rounding < awaiting < 60.0 * float(np.sum(seg.accelerators))
    assert sum(table["ended"]) == int(
        np.sum(seg.accelerators[(seg.outcome == 0) & (seg.end_s < work.window_s)])
    )


def test_without_a_tick_nothing_awaits_a_pass_and_idle_is_one_minus_utilisation(
    bench_sim: ModuleType,
) -> None:
    config = ReplayConfig(CAPACITY, "backfill")
    work = prepare(SAMPLE, None, None, 1.5, config)
    out, seg = replay(work, config)
    table = bench_sim.idle_days(seg, CAPACITY, work.window_s, 0.0)
    assert table["awaiting_pass"] == [0.0] * len(table["idle"])
    assert table["after_pass"] == table["idle"]
    span = np.diff(np.minimum(np.arange(len(table["idle"]) + 1) * 86_400.0, work.window_s))
    idle = float(np.dot(table["idle"], span)) / (CAPACITY * work.window_s)
    assert idle == pytest.approx(1.0 - out["utilisation"], abs=1e-3)
