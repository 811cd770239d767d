"""Programmes: the facility's budget lines (open models, safety research, ...).

A programme is declared once by an operator; the Council enacts its share of the facility, and
calls for proposals belong to one. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from pnyx.domain.events import Event, event_type
from pnyx.domain.ids import parse_slug
from pnyx.errors import ConflictError, InvalidInputError

# The five programmes of the facility (DESIGN.md §4) and their default names.
DEFAULT_PROGRAMMES: dict[str, str] = {
    "open-models": "Open foundation models",
    "safety-research": "Safety research",
    "academic-research": "Academic research",
    "sme-innovation": "SME innovation",
    "public-sector": "Public sector",
}

# Proposals to this programme must commit to releasing weights and data.
OPEN_MODELS = "open-models"


@event_type
@dataclass(frozen=True)
class ProgrammeDeclared(Event):
    """An operator declares a programme (a budget line)."""

    KIND = "programme.declared"
    programme_id: str
    name: str
    description: str


def decide_declare_programme(
    programme_id: str, name: str, description: str, exists: bool
) -> ProgrammeDeclared:
    """The event declaring a programme, or raise saying what is wrong with the request."""
    parse_slug(programme_id, "programme id")
    if not name.strip() or len(name) > 200:
        raise InvalidInputError(f"programme name must be 1-200 characters, got {len(name)}")
    if len(description) > 2000:
        raise InvalidInputError("programme description must be at most 2000 characters")
    if exists:
        raise ConflictError(f"programme {programme_id!r} already exists")
    return ProgrammeDeclared(programme_id=programme_id, name=name.strip(), description=description)
