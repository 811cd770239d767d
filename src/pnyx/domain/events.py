"""Events: typed, versioned facts with one canonical encoding (RFC 8785 JCS).

An event class is a frozen dataclass registered with :func:`event_type`. Its payload holds only
JSON values (str, int, bool, None, lists and dicts of those, StrEnums). Fields named in
``PRIVATE_FIELDS`` never enter the public record: the public body carries a salted SHA-256
commitment to them instead, and the values live in access-controlled storage.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

import rfc8785

from pnyx.domain.canonical import encode_plain
from pnyx.errors import InvalidInputError


class Visibility(StrEnum):
    """Who may read an event's private fields (its public body is always public)."""

    PUBLIC = "public"
    RESTRICTED = "restricted"  # operators and the principals the event concerns
    SEALED = "sealed"  # safety officers, with the approvals its containment level requires


@dataclass(frozen=True)
class Event:
    """Base class of every event. Subclasses set KIND (and VERSION when the shape changes)."""

    KIND: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    VISIBILITY: ClassVar[Visibility] = Visibility.PUBLIC
    PRIVATE_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def payload(self) -> dict[str, Any]:
        """All fields as JSON values."""
        out: dict[str, Any] = {}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            out[name] = value if type(value) in _JSON_SCALARS else _to_json(value)
        return out

    def public_payload(self) -> dict[str, Any]:
        """The fields that may appear in the public record."""
        if not self.PRIVATE_FIELDS:
            return self.payload()
        return {k: v for k, v in self.payload().items() if k not in self.PRIVATE_FIELDS}

    def private_payload(self) -> dict[str, Any]:
        """The fields that must stay out of the public record."""
        return {k: v for k, v in self.payload().items() if k in self.PRIVATE_FIELDS}


E = TypeVar("E", bound=type[Event])
_REGISTRY: dict[tuple[str, int], type[Event]] = {}


def event_type(cls: E) -> E:
    """Register an event class by (KIND, VERSION); both must be unique."""
    key = (cls.KIND, cls.VERSION)
    if not cls.KIND:
        raise TypeError(f"{cls.__name__} has no KIND")
    if key in _REGISTRY and _REGISTRY[key] is not cls:
        raise TypeError(f"event kind {key} registered twice")
    if cls.PRIVATE_FIELDS and cls.VISIBILITY is Visibility.PUBLIC:
        raise TypeError(f"{cls.__name__} has private fields but PUBLIC visibility")
    _REGISTRY[key] = cls
    return cls


def event_class(kind: str, version: int) -> type[Event]:
    """The registered class for a kind and version."""
    try:
        return _REGISTRY[(kind, version)]
    except KeyError:
        raise InvalidInputError(f"unknown event kind {kind!r} version {version}") from None


def registered_kinds() -> list[tuple[str, int]]:
    """Every registered (kind, version), sorted."""
    return sorted(_REGISTRY)


def decode_event(kind: str, version: int, payload: Mapping[str, Any]) -> Event:
    """Rebuild an event from its full payload (public and private fields)."""
    cls = event_class(kind, version)
    names = {f.name for f in dataclasses.fields(cls)}
    if set(payload) != names:
        raise InvalidInputError(
            f"event {kind} v{version}: fields {sorted(payload)} != expected {sorted(names)}"
        )
    return cls(**payload)


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical UTF-8 encoding: the same value always gives the same bytes.

    Values made only of strings, safe integers, booleans, null, lists and ASCII-keyed objects
    (every event is) take a fast path through the standard library, whose output is
    byte-identical to JCS for them; anything else (floats, non-ASCII keys) goes through the
    reference ``rfc8785`` implementation. A property test checks the two agree.
    """
    if _is_plain(value):
        return encode_plain(value).encode()
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
        raise InvalidInputError(f"value cannot be canonically encoded: {e}") from e


def canonical_text(value: Any) -> str:
    """:func:`canonical_json` as text (the same characters; no encode / decode round trip on
    the fast path)."""
    if _is_plain(value):
        return encode_plain(value)
    return canonical_json(value).decode()


_MAX_SAFE_INT = 2**53 - 1
_JSON_SCALARS = frozenset({str, int, bool, type(None)})


def _is_plain(value: Any) -> bool:
    kind = type(value)  # exact types first (the common case), then subclasses
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_MAX_SAFE_INT <= value <= _MAX_SAFE_INT)
    if kind is dict:
        for key, item in value.items():
            if not (isinstance(key, str) and key.isascii()):
                return False
            item_kind = type(item)
            if item_kind is str or item is None or item_kind is bool:
                continue
            if item_kind is int:
                if not -_MAX_SAFE_INT <= item <= _MAX_SAFE_INT:
                    return False
            elif not _is_plain(item):
                return False
        return True
    if kind is list:
        return all(type(item) is str or _is_plain(item) for item in value)
    if isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        return -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and k.isascii() and _is_plain(v) for k, v in value.items())
    return False


def commitment(salt: bytes, private: Mapping[str, Any]) -> str:
    """Hex SHA-256 over salt || canonical(private fields): binds without revealing."""
    if len(salt) != 32:
        raise InvalidInputError(f"commitment salt must be 32 bytes, got {len(salt)}")
    return hashlib.sha256(salt + canonical_json(dict(private))).hexdigest()


_FIELD_NAMES: dict[type[Event], tuple[str, ...]] = {}


def _field_names(cls: type[Event]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _to_json(value: Any) -> Any:
    if type(value) in _JSON_SCALARS:  # exact types: nothing to convert
        return value
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    return value
