"""The trace loader: parsing, sorting, windows, load scaling."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from pnyx.errors import InvalidInputError
from pnyx.sim.trace import load_trace, parse_trace, scale_load, select_window

SAMPLE = Path(__file__).parents[2] / "data" / "philly-sample.csv"


def test_sample_loads_sorted_with_members_runtimes_and_sizes() -> None:
    trace = load_trace(SAMPLE)
    assert trace.submit_s.size == 373
    assert np.all(np.diff(trace.submit_s) >= 0)
    assert trace.accelerators.min() >= 1
    assert len(trace.members) == len(set(trace.members)) > 1
    assert trace.member.max() == len(trace.members) - 1
    # the first row of the file: 2017-11-14 ... ; its runtime is in the arrays
    first = SAMPLE.read_text().splitlines()[1].split(",")
    stamp = np.datetime64(first[0].replace(" ", "T"), "s").astype(np.int64)
    at = np.flatnonzero(trace.submit_s == stamp)
    assert float(first[1]) in trace.runtime_s[at].tolist()


def test_gzip_reads_the_same(tmp_path: Path) -> None:
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    assert np.array_equal(load_trace(packed).submit_s, load_trace(SAMPLE).submit_s)


@pytest.mark.parametrize(
    "rows",
    [
        [["when", "duration", "num_gpus", "gpu_time", "cluster"]],
        [["timestamp", "duration", "num_gpus", "gpu_time", "cluster"]],
        [["timestamp", "duration", "num_gpus", "gpu_time", "cluster"], ["2017-1"]],
        [
            ["timestamp", "duration", "num_gpus", "gpu_time", "cluster"],
            ["2017-10-01 00:00:00", "10", "0", "0", "a"],
        ],
        [
            ["timestamp", "duration", "num_gpus", "gpu_time", "cluster"],
            ["yesterday", "10", "1", "10", "a"],
        ],
    ],
)
def test_broken_traces_are_refused(rows: list[list[str]]) -> None:
    with pytest.raises(InvalidInputError):
        parse_trace(rows)


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"nope\.csv"):
        load_trace(tmp_path / "nope.csv")


def test_window_selects_and_rebases() -> None:
    trace = load_trace(SAMPLE)
    work = select_window(trace, datetime(2017, 11, 15), datetime(2017, 11, 15, 12))
    assert work.window_s == 12 * 3600
    assert work.jobs > 0
    assert work.submit_s.min() >= 0 and work.submit_s.max() < work.window_s
    whole = select_window(trace, None, None)
    assert whole.jobs == 373
    assert whole.start == datetime(2017, 11, 14)
    assert work.jobs < whole.jobs
    with pytest.raises(InvalidInputError):
        select_window(trace, datetime(2017, 11, 15), datetime(2017, 11, 14))


@pytest.mark.parametrize("load", [0.3, 1.0, 2.5, 7.0])
def test_load_scaling_hits_the_target(load: float) -> None:
    work = select_window(load_trace(SAMPLE), None, None)
    capacity = 64
    scaled = scale_load(work, load, capacity, seed=3)
    assert scaled.offered_load(capacity) == pytest.approx(load, rel=0.02)
    assert scaled.submit_s.min() >= 0 and scaled.submit_s.max() < work.window_s
    assert np.all(np.diff(scaled.submit_s) >= 0)
    again = scale_load(work, load, capacity, seed=3)
    assert np.array_equal(again.submit_s, scaled.submit_s)
