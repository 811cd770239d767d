"""Close every resolution whose voting window has ended (and enact the passed ones)."""

from __future__ import annotations

import logging
import threading

from prometheus_client import Counter

from pnyx.services.context import ServiceContext
from pnyx.services.council import close_due_resolutions

log = logging.getLogger(__name__)
RESOLUTIONS_CLOSED = Counter("pnyx_council_resolutions_closed", "Resolutions the worker closed")
COUNCIL_ERRORS = Counter("pnyx_council_worker_errors", "Failed council worker passes")
INTERVAL_S = 1.0


def run_once(ctx: ServiceContext) -> list[str]:
    """Close the resolutions that are due; their ids."""
    closed = close_due_resolutions(ctx)
    for rid in closed:
        RESOLUTIONS_CLOSED.inc()
        log.info("closed resolution %s", rid)
    return closed


def run_forever(ctx: ServiceContext, interval_s: float, stop_event: threading.Event) -> None:
    """Call :func:`run_once` every ``interval_s`` until ``stop_event`` is set."""
    if interval_s <= 0:
        raise ValueError(f"interval_s must be > 0, got {interval_s}")
    while not stop_event.is_set():
        try:
            run_once(ctx)
        except Exception:  # the top of a worker loop: count, log, carry on
            COUNCIL_ERRORS.inc()
            log.exception("council worker pass failed")
        stop_event.wait(interval_s)


def start(
    ctx: ServiceContext, interval_s: float = INTERVAL_S
) -> tuple[threading.Thread, threading.Event]:
    """Run :func:`run_forever` in a daemon thread; set the returned event to stop it."""
    stop_event = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(ctx, interval_s, stop_event), name="council", daemon=True
    )
    thread.start()
    return thread, stop_event
