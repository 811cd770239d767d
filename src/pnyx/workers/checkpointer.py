"""Sign a checkpoint every T seconds when the log grew (record() also signs every N events)."""

from __future__ import annotations

import logging
import threading

from prometheus_client import Counter

from pnyx.services.checkpoints import checkpoint_if_grown
from pnyx.services.context import ServiceContext

log = logging.getLogger(__name__)
CHECKPOINTS_ISSUED = Counter("pnyx_checkpointer_issued", "Checkpoints the periodic worker signed")
CHECKPOINTER_ERRORS = Counter("pnyx_checkpointer_errors", "Failed checkpointer passes")


def run_once(ctx: ServiceContext) -> bool:
    """Sign the current tree head if the log grew since the last checkpoint; True if it did."""
    issued = checkpoint_if_grown(ctx)
    if issued is None:
        return False
    CHECKPOINTS_ISSUED.inc()
    log.info("checkpoint issued for tree size %d", issued.size)
    return True


def run_forever(ctx: ServiceContext, interval_s: float, stop_event: threading.Event) -> None:
    """Call :func:`run_once` now and then every ``interval_s`` until ``stop_event`` is set."""
    if interval_s <= 0:
        raise ValueError(f"interval_s must be > 0, got {interval_s}")
    while not stop_event.is_set():
        try:
            run_once(ctx)
        except Exception:  # the top of a worker loop: count, log, carry on
            CHECKPOINTER_ERRORS.inc()
            log.exception("checkpointer pass failed")
        stop_event.wait(interval_s)


def start(ctx: ServiceContext, interval_s: float) -> tuple[threading.Thread, threading.Event]:
    """Run :func:`run_forever` in a daemon thread; set the returned event to stop it."""
    stop_event = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(ctx, interval_s, stop_event), name="checkpointer", daemon=True
    )
    thread.start()
    return thread, stop_event
