"""The store's own name on the engines it drives (pure).

Engines know pnyx jobs by a *run key* (``NAMESPACE-JOBID``, ``.rN`` after a requeue; see
:func:`pnyx.services.dispatch.run_key`). The namespace is drawn at random once per store and
recorded on the ledger, so that two stores driving one engine (staging and production, a
restored copy, one test and the next) never take each other's jobs for their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pnyx.domain.events import Event, event_type
from pnyx.errors import InvalidInputError

_NAMESPACE = re.compile(r"^[0-9a-f]{8}$")


@event_type
@dataclass(frozen=True)
class EngineNamespaceSet(Event):
    """The store named itself on its engines (recorded once, by the dispatcher)."""

    KIND = "dispatch.namespace_set"
    namespace: str


def decide_namespace(namespace: str) -> EngineNamespaceSet:
    """The event naming the store ``namespace`` (8 lowercase hex digits), or raise."""
    if not _NAMESPACE.match(namespace):
        raise InvalidInputError(f"namespace must be 8 lowercase hex digits, got {namespace!r}")
    return EngineNamespaceSet(namespace=namespace)
