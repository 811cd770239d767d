"""Exact numbers for tallies: thresholds, weights and shares are Fractions, never floats.

``0.55`` read as a float is not 55/100; every number a rule or an electorate gives is turned
into a :class:`~fractions.Fraction` from its decimal text, so "at least 55 %" means exactly that.
"""

from __future__ import annotations

import math
from enum import StrEnum
from fractions import Fraction
from typing import Any

from pnyx.errors import InvalidInputError


class Comparison(StrEnum):
    """How a share is compared with its threshold."""

    AT_LEAST = ">="
    MORE_THAN = ">"

    def holds(self, share: Fraction, threshold: Fraction) -> bool:
        """True when ``share`` meets ``threshold`` under this comparison."""
        return share >= threshold if self is Comparison.AT_LEAST else share > threshold


def parse_fraction(value: object, what: str) -> Fraction:
    """Read a number exactly: ``"55%"``, ``"2/3"``, ``"0.55"``, ``0.55`` or ``2``.

    A float is read from its shortest decimal text (``0.55`` -> 11/20), not its binary value.
    """
    if isinstance(value, bool):
        raise InvalidInputError(f"{what} must be a number, got a boolean ({value})")
    if isinstance(value, Fraction | int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"{what} must be a finite number, got {value}")
        return Fraction(repr(value))
    if isinstance(value, str):
        return _parse_text(value, what)
    raise InvalidInputError(
        f"{what} must be a number or a string like '55%', '2/3' or '0.55',"
        f" got {type(value).__name__}"
    )


def _parse_text(text: str, what: str) -> Fraction:
    body = text.strip()
    percent = body.endswith("%")
    if percent:
        body = body[:-1].strip()
    try:
        number = Fraction(body)
    except (ValueError, ZeroDivisionError):
        raise InvalidInputError(
            f"{what} {text!r} is not a number: write it like '55%', '2/3' or '0.55'"
        ) from None
    return number / 100 if percent else number


def fraction_json(value: Fraction) -> dict[str, Any]:
    """A number as both its exact text (``"13/20"``) and a float, so a person can check it."""
    return {"fraction": str(value), "float": float(value)}


def percent_text(value: Fraction) -> str:
    """``Fraction(11, 20)`` -> ``"55 %"``; non-terminating shares get 2 decimals (``"66.67 %"``)."""
    scaled = value * 100
    if scaled.denominator == 1:
        return f"{scaled.numerator} %"
    return f"{float(scaled):.2f} %"
