"""What every service needs: the database, an injected clock and the log's signing key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pnyx.ledger.note import Signer
from pnyx.store.db import Database


def utc_now() -> datetime:
    """The wall clock (the only clock read in production code paths)."""
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds, e.g. 2026-11-26T14:51:43.123456Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class ServiceContext:
    """Passed to every service function."""

    db: Database
    clock: Callable[[], datetime] = field(default=utc_now)
    log_signer: Signer | None = None  # signs checkpoints; None: no checkpoints are issued
    checkpoint_every_events: int = 1000  # record() issues one when the log grew this much

    def now(self) -> str:
        """The current time as recorded on events."""
        return format_time(self.clock())
