"""Sign a checkpoint every T seconds when the log grew (record() also signs every N events)."""

from __future__ import annotations

import logging
import threading

from prometheus_client import Counter

from pnyx.services.checkpoints import checkpoint_if_grown
from pnyx.services.context import ServiceContext
from pnyx.workers import loop

log = logging.getLogger(__name__)
CHECKPOINTS_ISSUED = Counter("pnyx_checkpointer_issued", "Checkpoints the periodic worker signed")


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
    loop.run_forever("checkpointer", lambda: run_once(ctx), interval_s, stop_event)


def start(ctx: ServiceContext, interval_s: float) -> tuple[threading.Thread, threading.Event]:
    """Run the checkpointer in a daemon thread; set the returned event to stop it."""
    return loop.start("checkpointer", lambda: run_once(ctx), interval_s)
