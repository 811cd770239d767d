"""`pnyx sim bench` through the CLI, with tiny sizes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pnyx.cli.main import app
from pnyx.errors import InvalidInputError
from pnyx.sim.bench import Bench, BenchConfig, bench_facility


def test_sim_bench_prints_the_design_json() -> None:
    result = CliRunner().invoke(
        app,
        [
            "sim",
            "bench",
            "--accelerators",
            "2048",
            "--pending",
            "200",
            "--running",
            "300",
            "--passes",
            "3",
            "--churn",
            "50",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {"accelerators", "pending", "running", "decisions_per_s", "pass_ms", "peak_rss_mib"} <= (
        out.keys()
    )
    assert out["accelerators"] == 2048
    assert out["pending"] == 200
    assert 0 < out["running"] <= 300
    assert out["decisions_per_s"] > 0
    assert 0 < out["pass_ms"]["p50"] <= out["pass_ms"]["p99"]
    assert out["peak_rss_mib"] > 0
    assert 0 < out["utilisation"] <= 1


def test_bench_is_deterministic_in_what_it_schedules() -> None:
    runs = []
    for _ in range(2):
        bench = Bench(BenchConfig(accelerators=1024, pending=60, running=80, passes=1, churn=20))
        bench.fill()
        bench.top_up()
        bench.step()
        runs.append(sorted(bench.state.running.jobs))
    assert runs[0] == runs[1]


def test_bench_facility_has_the_stated_shape() -> None:
    fac = bench_facility(100_000)
    assert fac.accelerators == 100_000
    assert fac.n_nodes == 12_500
    assert fac.n_types == 4
    assert int(fac.containment.max()) == 4
    assert (fac.containment == 3).sum() > 0


def test_bench_rejects_a_facility_smaller_than_a_pod() -> None:
    with pytest.raises(InvalidInputError, match="accelerators"):
        BenchConfig(accelerators=100)
