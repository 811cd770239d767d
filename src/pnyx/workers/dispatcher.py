"""The dispatcher worker: one :func:`pnyx.services.dispatch.dispatch_once` pass every interval,
over the backends ``pnyx up`` built (one per cluster).

Its configuration comes from the settings (``pnyx up`` builds it with
:func:`pnyx.services.dispatch.dispatch_config`): ``PNYX_PLACEMENT`` chooses who places jobs on
nodes, ``pnyx`` (default: the scheduling core, on every cluster whose inventory declares the
nodes its engine reports) or ``engine`` (the broker picks a cluster, the engine picks the
nodes); ``PNYX_PREEMPTION_JUDGE`` how it decides who is above or below its share before it
preempts (default ``entitlement``; ``off``: never)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence

from prometheus_client import Counter, Histogram

from pnyx.backends.base import Backend
from pnyx.backends.slurm_shares import AccountShare
from pnyx.domain.identity import Actor
from pnyx.services.context import ServiceContext
from pnyx.services.dispatch import DispatchConfig, DispatchReport, DispatchState, dispatch_once
from pnyx.services.slurm_accounts import sync_slurm_accounts
from pnyx.workers import loop

log = logging.getLogger(__name__)
JOBS_PLACED = Counter("pnyx_dispatch_placed", "Jobs the dispatcher placed on a cluster")
JOBS_ENDED = Counter("pnyx_dispatch_ended", "Jobs the dispatcher saw end", ["state"])
BACKEND_UNAVAILABLE = Counter(
    "pnyx_dispatch_backend_unavailable", "Passes that found a backend unreachable", ["backend"]
)
PASS_SECONDS = Histogram("pnyx_dispatch_pass_seconds", "Duration of one dispatch pass")
INTERVAL_S = 1.0
SHARE_SYNC_EVERY_S = 60.0  # how often Slurm's accounts are compared with the enacted shares


class Dispatcher:
    """The backends, the state kept between passes, and the actor the dispatcher acts as."""

    def __init__(
        self,
        ctx: ServiceContext,
        backends: Mapping[str, Backend],
        config: DispatchConfig | None = None,
        dataset_sites: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.ctx = ctx
        self.backends = dict(backends)
        self.config = config or DispatchConfig()
        self.dataset_sites = {k: frozenset(v) for k, v in (dataset_sites or {}).items()}
        self.state = DispatchState()
        self.actor = Actor.system()
        self.mirrored: dict[str, tuple[AccountShare, ...]] = {}
        self.next_share_sync = 0.0

    def run_once(self) -> DispatchReport:
        """One pass; counts what it did."""
        with PASS_SECONDS.time():
            report = dispatch_once(
                self.ctx, self.actor, self.backends, self.state, self.config, self.dataset_sites
            )
        JOBS_PLACED.inc(len(report.placed))
        for state in report.ended.values():
            JOBS_ENDED.labels(state=state).inc()
        for name in report.unavailable:
            BACKEND_UNAVAILABLE.labels(backend=name).inc()
        for error in report.errors:
            log.warning("dispatch: %s", error)
        self.sync_shares()
        return report

    def sync_shares(self, now: float | None = None) -> None:
        """Every SHARE_SYNC_EVERY_S, mirror the enacted shares into Slurm clusters with
        slurmdbd (only when the tree changed since the last mirror)."""
        now = time.monotonic() if now is None else now
        if now < self.next_share_sync:
            return
        self.next_share_sync = now + SHARE_SYNC_EVERY_S
        for cluster, commands in sync_slurm_accounts(
            self.ctx, self.backends, self.mirrored
        ).items():
            log.info("shares mirrored into %s: %d sacctmgr commands", cluster, len(commands))


def start(
    ctx: ServiceContext,
    backends: Mapping[str, Backend],
    interval_s: float = INTERVAL_S,
    config: DispatchConfig | None = None,
    dataset_sites: Mapping[str, Sequence[str]] | None = None,
) -> tuple[threading.Thread, threading.Event]:
    """Run the dispatcher in a daemon thread; set the returned event to stop it."""
    dispatcher = Dispatcher(ctx, backends, config, dataset_sites)
    return loop.start("dispatcher", dispatcher.run_once, interval_s)
