"""The shared worker loop survives failing passes and stops when asked."""

from __future__ import annotations

import threading

import pytest

from pnyx.workers import loop


def test_failing_pass_is_counted_and_the_loop_goes_on() -> None:
    calls: list[int] = []
    stop = threading.Event()

    def step() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        if len(calls) >= 3:
            stop.set()

    before = loop.WORKER_ERRORS.labels(worker="t")._value.get()
    loop.run_forever("t", step, 0.001, stop)
    assert len(calls) == 3
    assert loop.WORKER_ERRORS.labels(worker="t")._value.get() == before + 1


def test_start_runs_in_a_thread_until_stopped() -> None:
    ran = threading.Event()
    thread, stop = loop.start("t2", ran.set, 0.001)
    assert ran.wait(5)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        loop.run_forever("t3", lambda: None, 0, threading.Event())
