"""Reading operator-written specs (parsed YAML or JSON) with errors that name the path.

Every error reads ``<path>: <problem>``, e.g. ``sites[1].clusters[0].pods[3].nodes[0].count: must
be > 0, got 0``, so an operator can find the line in a file of hundreds. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from typing import Final, TypeVar

from pnyx.domain.ids import parse_slug
from pnyx.errors import InvalidInputError

E = TypeVar("E", bound=StrEnum)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Missing:
    """Marker for a required field."""


REQUIRED: Final = _Missing()


def spec_error(path: str, problem: str) -> InvalidInputError:
    """The error for ``problem`` at ``path`` (the root is the empty path)."""
    return InvalidInputError(f"{path}: {problem}" if path else problem)


def type_name(value: object) -> str:
    """How an operator would call the type of a parsed YAML/JSON value."""
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    if value is None:
        return "nothing (null)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return names.get(type(value), type(value).__name__)


class Fields:
    """A mapping being read at ``path``; unknown keys are refused so typos never pass."""

    def __init__(self, value: object, path: str, allowed: Iterable[str]) -> None:
        if not isinstance(value, Mapping):
            raise spec_error(path, f"expected a mapping, got {type_name(value)}")
        allowed_set = set(allowed)
        unknown = sorted(str(k) for k in value if k not in allowed_set)
        if unknown:
            known = ", ".join(sorted(allowed_set))
            raise spec_error(path, f"unknown field(s) {', '.join(unknown)} (allowed: {known})")
        self.value: Mapping[object, object] = value
        self.path = path

    def at(self, key: str) -> str:
        """The path of ``key`` in this mapping."""
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        """True when ``key`` is present and not null."""
        return self.value.get(key) is not None

    def raw(self, key: str, default: object = REQUIRED) -> object:
        """The value of ``key``; raise when required and absent (null counts as absent)."""
        value = self.value.get(key)
        if value is None:
            if default is REQUIRED:
                raise spec_error(self.at(key), "required")
            return default
        return value

    def text(self, key: str, default: object = REQUIRED, max_len: int = 200) -> str:
        """A non-empty string of at most ``max_len`` characters."""
        value = self.raw(key, default)
        if not isinstance(value, str):
            raise spec_error(self.at(key), f"expected a string, got {type_name(value)}")
        if not value.strip() or len(value) > max_len:
            raise spec_error(self.at(key), f"must be 1-{max_len} characters, got {len(value)}")
        return value

    def slug(self, key: str) -> str:
        """An identifier (see :func:`pnyx.domain.ids.parse_slug`)."""
        value = self.raw(key)
        if not isinstance(value, str):
            raise spec_error(self.at(key), f"expected an id (string), got {type_name(value)}")
        return slug_at(value, self.at(key))

    def integer(
        self, key: str, minimum: int = 1, maximum: int | None = None, default: object = REQUIRED
    ) -> int:
        """An integer in [``minimum``, ``maximum``] (booleans are refused)."""
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise spec_error(self.at(key), f"expected an integer, got {type_name(value)}")
        if value < minimum:
            bound = "must be > 0" if minimum == 1 else f"must be >= {minimum}"
            raise spec_error(self.at(key), f"{bound}, got {value}")
        if maximum is not None and value > maximum:
            raise spec_error(self.at(key), f"must be <= {maximum}, got {value}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        """A boolean (true/false), ``default`` when absent."""
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise spec_error(self.at(key), f"expected true or false, got {type_name(value)}")
        return value

    def items(self, key: str, min_len: int = 0) -> list[tuple[str, object]]:
        """The list under ``key`` as (path, item) pairs; absent means empty."""
        value = self.raw(key, [] if min_len == 0 else REQUIRED)
        if not isinstance(value, list | tuple):
            raise spec_error(self.at(key), f"expected a list, got {type_name(value)}")
        if len(value) < min_len:
            raise spec_error(self.at(key), f"needs at least {min_len} item(s), got {len(value)}")
        return [(f"{self.at(key)}[{i}]", item) for i, item in enumerate(value)]

    def iso_date(self, key: str) -> str | None:
        """An ISO calendar date YYYY-MM-DD (a YAML date or a string), or None when absent."""
        value = self.raw(key, None)
        if value is None:
            return None
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str) and _ISO_DATE.match(value):
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:
                pass
        raise spec_error(self.at(key), f"expected a date YYYY-MM-DD, got {value!r}")


def slug_at(value: str, path: str) -> str:
    """``value`` if it is a valid id, else raise naming ``path``."""
    try:
        return parse_slug(value, "id")
    except InvalidInputError as e:
        raise spec_error(path, str(e)) from None


def choice(path: str, value: object, options: type[E], what: str) -> E:
    """Parse ``value`` as a member of the StrEnum ``options``, naming the known values."""
    if isinstance(value, str):
        try:
            return options(value)
        except ValueError:
            pass
    known = ", ".join(str(o) for o in options)
    raise spec_error(path, f"unknown {what} {value!r} (known: {known})")
