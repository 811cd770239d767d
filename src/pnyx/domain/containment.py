"""Containment levels CL-1..CL-4 (DESIGN.md §5): the closed vocabulary and its order.

Workflows (sealed weights, M-of-N approvals, release gates) come later; this module only names
the levels, orders them and says which need a dated certificate.
"""

from __future__ import annotations

from enum import StrEnum

from pnyx.errors import InvalidInputError


class ContainmentLevel(StrEnum):
    """How strongly a partition (or a job) is contained; mapped to BSL-1..4 and RAND SL1-5."""

    CL1 = "CL-1"
    CL2 = "CL-2"
    CL3 = "CL-3"
    CL4 = "CL-4"

    @property
    def rank(self) -> int:
        """1..4: a higher rank is stricter."""
        return int(self.value[-1])

    @property
    def needs_certificate(self) -> bool:
        """CL-3 and CL-4 partitions carry a certificate with an expiry date."""
        return self.rank >= 3


def parse_containment(value: object, where: str = "containment level") -> ContainmentLevel:
    """The level named by ``value`` ("CL-1".."CL-4"), else raise naming ``where``."""
    if isinstance(value, str):
        try:
            return ContainmentLevel(value.strip().upper())
        except ValueError:
            pass
    known = ", ".join(level.value for level in ContainmentLevel)
    raise InvalidInputError(f"{where}: unknown containment level {value!r} (known: {known})")
