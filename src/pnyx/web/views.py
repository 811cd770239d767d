"""Pure helpers that turn service DTOs into what the templates show (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from pnyx.web.plots import Bar, ordered_keys


def type_order(counts: Iterable[Mapping[str, int]]) -> list[str]:
    """Accelerator types, most numerous first (ties by name), zero counts left out."""
    return ordered_keys([Bar("", c) for c in counts])


def share_pct(part: int, whole: int) -> str:
    """``part`` as a percentage of ``whole`` with one decimal ('-' when whole is 0)."""
    return f"{100 * part / whole:.1f}%" if whole else "-"


def certificate_status(expires: str | None, today: str) -> str:
    """'none', 'valid' or 'expired' for a partition certificate expiring on ``expires``.

    ``today`` and ``expires`` are ISO dates or RFC 3339 times; an unparseable date is
    'unknown' rather than an error, so one bad record never breaks a page.
    """
    if expires is None:
        return "none"
    try:
        end = date.fromisoformat(expires[:10])
        now = date.fromisoformat(today[:10])
    except ValueError:
        return "unknown"
    return "expired" if end < now else "valid"


def format_body(body: Mapping[str, object]) -> str:
    """An event body as compact, stable JSON for display."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


@dataclass(frozen=True)
class Pager:
    """Where a page of a newest-first list sits, and the links around it."""

    offset: int
    limit: int
    total: int

    @property
    def newer_offset(self) -> int | None:
        """Offset of the previous (newer) page, or None on the first page."""
        return max(self.offset - self.limit, 0) if self.offset > 0 else None

    @property
    def older_offset(self) -> int | None:
        """Offset of the next (older) page, or None on the last page."""
        nxt = self.offset + self.limit
        return nxt if nxt < self.total else None
