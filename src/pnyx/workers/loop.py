"""The shared loop of every worker: call a step every interval until stopped, never die."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from prometheus_client import Counter

log = logging.getLogger(__name__)
WORKER_ERRORS = Counter("pnyx_worker_errors", "Failed worker passes", ["worker"])


def run_forever(
    name: str, step: Callable[[], object], interval_s: float, stop_event: threading.Event
) -> None:
    """Call ``step`` now and then every ``interval_s`` until ``stop_event`` is set."""
    if interval_s <= 0:
        raise ValueError(f"interval_s must be > 0, got {interval_s}")
    while not stop_event.is_set():
        try:
            step()
        except Exception:  # the top of a worker loop: count, log with traceback, carry on
            WORKER_ERRORS.labels(worker=name).inc()
            log.exception("%s pass failed", name)
        stop_event.wait(interval_s)


def start(
    name: str, step: Callable[[], object], interval_s: float
) -> tuple[threading.Thread, threading.Event]:
    """Run :func:`run_forever` in a daemon thread; set the returned event to stop it."""
    stop_event = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(name, step, interval_s, stop_event), name=name, daemon=True
    )
    thread.start()
    return thread, stop_event
