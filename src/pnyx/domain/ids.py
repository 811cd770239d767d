"""Identifier syntax shared by every kind of object (principals, members, sites, ...)."""

from __future__ import annotations

import re

from pnyx.errors import InvalidInputError

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def parse_slug(value: str, what: str) -> str:
    """Return ``value`` if it is a valid identifier, else raise naming ``what``."""
    if not isinstance(value, str) or not _SLUG.match(value):
        raise InvalidInputError(
            f"{what} {value!r} is not a valid id: use 1-63 characters of a-z, 0-9, '.', '_', '-',"
            " starting with a letter or digit"
        )
    return value
