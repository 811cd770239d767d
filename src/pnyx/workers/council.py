"""Close every resolution whose voting window has ended (and enact the passed ones)."""

from __future__ import annotations

import logging
import threading

from prometheus_client import Counter

from pnyx.services.context import ServiceContext
from pnyx.services.council import close_due_resolutions
from pnyx.workers import loop

log = logging.getLogger(__name__)
RESOLUTIONS_CLOSED = Counter("pnyx_council_resolutions_closed", "Resolutions the worker closed")
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
    loop.run_forever("council", lambda: run_once(ctx), interval_s, stop_event)


def start(
    ctx: ServiceContext, interval_s: float = INTERVAL_S
) -> tuple[threading.Thread, threading.Event]:
    """Run the council worker in a daemon thread; set the returned event to stop it."""
    return loop.start("council", lambda: run_once(ctx), interval_s)
