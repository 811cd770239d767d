"""The entitlement book's decayed interval weights are exactly what the scheduling core's
usage tracker integrates (the live dispatcher and the simulator use one definition)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pnyx.sched.priority import UsageTracker
from pnyx.services.dispatch_entitlement import EntitlementBook

HALF_LIFE_S = 3_600.0


@given(
    start=st.floats(0, 20_000),
    length=st.floats(0, 20_000),
    after=st.floats(0, 20_000),
    rate=st.floats(0.5, 64),
)
def test_a_constant_rate_weighs_what_the_tracker_integrates(
    start: float, length: float, after: float, rate: float
) -> None:
    tracker = UsageTracker(HALF_LIFE_S, 0.0)
    tracker.ensure(1)
    tracker.advance(start)
    tracker.add_rate(0, rate)
    tracker.advance(start + length)
    tracker.add_rate(0, -rate)
    now = start + length + after
    tracker.advance(now)
    book = EntitlementBook(HALF_LIFE_S)
    expected = float(tracker.usage[0])
    assert rate * book.weight(start, start + length, now) == pytest.approx(
        expected, rel=1e-9, abs=1e-6
    )


def test_an_open_interval_ends_now_and_the_span_saturates() -> None:
    book = EntitlementBook(HALF_LIFE_S)
    assert book.weight(0.0, 10_000.0, 5_000.0) == pytest.approx(book.weight(0.0, 5_000.0, 5_000.0))
    assert book.weight(100.0, 50.0, 200.0) == 0.0
    forever = book.weight(0.0, 1e7, 1e7)
    assert forever == pytest.approx(HALF_LIFE_S / math.log(2))
    assert np.isfinite(forever)
