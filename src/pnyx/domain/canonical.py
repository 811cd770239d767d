"""Read canonical JSON back, refusing any encoding that is not the canonical one.

``parse_canonical_json(data)`` returns the value encoded by ``data`` exactly when
``canonical_json(value) == data`` (:func:`pnyx.domain.events.canonical_json`, RFC 8785), and
raises otherwise. It is the per-entry check of a log verifier, so the common case is fast: an
ASCII text without fractions, exponents or numbers of 16 digits or more decodes only to "plain"
values, whose canonical form is the standard library's sorted compact encoding; the encoder and
decoder are built once instead of on every call. Anything else takes the reference path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pnyx.errors import InvalidInputError


class _NotPlainError(Exception):
    """The text holds a number whose canonical form the fast path cannot produce."""


def _reject_number(text: str) -> Any:
    raise _NotPlainError(text)


def _short_int(text: str) -> int:
    if len(text) > 15:  # may exceed 2**53 - 1: the reference path decides
        raise _NotPlainError(text)
    return int(text)


def _unexpected(value: Any) -> Any:
    raise TypeError(f"not a JSON value: {type(value).__name__}")


_DECODER = json.JSONDecoder(
    parse_float=_reject_number, parse_int=_short_int, parse_constant=_reject_number
)
# raw_decode without its wrapper: (value, end) or StopIteration
_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_NOT_SAME = "not canonical JSON (it does not re-encode to the same bytes)"


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
    if data.isascii():
        text = data.decode("ascii")
        try:
            value, end = _scan(text, 0)
        except _NotPlainError:
            return _parse_reference(data)
        except StopIteration:
            raise InvalidInputError("not canonical JSON: no JSON value at the start") from None
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
