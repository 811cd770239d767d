"""Projection registry: each event kind maps to one function that updates the query tables.

Projectors are deterministic functions of (table state, recorded event): replaying the log in
order into empty tables must give back exactly the live tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection

from pnyx.domain.events import Event
from pnyx.store.eventstore import RecordedEvent

Projector = Callable[[Connection, RecordedEvent, Event], None]
F = TypeVar("F", bound=Projector)

_PROJECTORS: dict[type[Event], Projector] = {}


def projects(*classes: type[Event]) -> Callable[[F], F]:
    """Register the decorated function as the projector of ``classes``."""

    def register(fn: F) -> F:
        for cls in classes:
            if cls in _PROJECTORS:
                raise TypeError(f"{cls.__name__} has two projectors")
            _PROJECTORS[cls] = fn
        return fn

    return register


def apply_event(conn: Connection, rec: RecordedEvent, event: Event) -> None:
    """Update the projections for one recorded event."""
    try:
        projector = _PROJECTORS[type(event)]
    except KeyError:
        raise TypeError(f"no projector registered for {type(event).__name__}") from None
    projector(conn, rec, event)


def projected_classes() -> set[type[Event]]:
    """Event classes that have a projector."""
    return set(_PROJECTORS)
