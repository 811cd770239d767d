"""Read canonical JSON back, refusing any encoding that is not the canonical one.

``parse_canonical_json(data)`` returns the value encoded by ``data`` exactly when
``canonical_json(value) == data`` (:func:`pnyx.domain.events.canonical_json`, RFC 8785), and
raises otherwise. It is the per-entry check of a log verifier, so the common case is fast: an
ASCII text without fractions, exponents or 16-digit numbers decodes only to "plain" values, whose
canonical form is the standard library's sorted compact encoding; the encoder and decoder are
built once instead of on every call. Anything else takes the reference path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from pnyx.errors import InvalidInputError


class _NotPlainError(Exception):
    """The text holds a number whose canonical form the fast path cannot produce."""


def _reject_number(text: str) -> Any:
    raise _NotPlainError(text)


def _unexpected(value: Any) -> Any:
    raise TypeError(f"not a JSON value: {type(value).__name__}")


_DECODER = json.JSONDecoder(parse_float=_reject_number, parse_constant=_reject_number)
_NOT_SAME = "not canonical JSON (it does not re-encode to the same bytes)"
_LONG_NUMBER = re.compile(rb"[0-9]{16}")  # may exceed 2**53 - 1: the reference path decides


def _plain_encoder() -> Callable[[Any], str]:
    """``json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":"))``, prebuilt."""
    c_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_encoder is None:  # pragma: no cover  (CPython always has the C accelerator)
        encoder = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return encoder.encode
    iterencode = c_encoder(
        None, _unexpected, json.encoder.encode_basestring, None, ":", ",", True, False, True
    )
    return lambda value: "".join(iterencode(value, 0))


encode_plain = _plain_encoder()


def parse_canonical_json(data: bytes) -> Any:
    """The value ``data`` encodes, if ``data`` is its canonical encoding; else InvalidInputError."""
    if data.isascii() and not _LONG_NUMBER.search(data):
        text = data.decode("ascii")
        try:
            value, end = _DECODER.raw_decode(text)
        except _NotPlainError:
            return _parse_reference(data)
        except (ValueError, RecursionError) as e:
            raise InvalidInputError(f"not canonical JSON: {e}") from e
        if end != len(text) or encode_plain(value) != text:
            raise InvalidInputError(_NOT_SAME)
        return value
    return _parse_reference(data)


def _parse_reference(data: bytes) -> Any:
    from pnyx.domain.events import canonical_json

    try:
        value = json.loads(data.decode("utf-8"))
        again = canonical_json(value)
    except (ValueError, UnicodeError, RecursionError, InvalidInputError) as e:
        raise InvalidInputError(f"not canonical JSON: {e}") from e
    if again != data:
        raise InvalidInputError(_NOT_SAME)
    return value
