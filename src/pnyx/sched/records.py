"""Setting the fields of the scheduler's frozen records in a build compiled by mypyc.

The simulator builds several frozen records per job (request, allocation, placement, start,
running entry). Interpreted, a frozen dataclass's generated ``__init__`` pays one
``object.__setattr__`` call per field, so the hot records write their fields straight into
the instance dict (the instance stays frozen, and the dict keeps sharing its keys with the
class's other instances). Compiled by mypyc (``make native``) a record has no instance dict:
its fields are native attributes, which these records set through :func:`set_native`.
"""

from __future__ import annotations

from typing import Final

NATIVE: Final = not __file__.endswith(".py")
"""True when this package was compiled by mypyc (its modules are extension modules)."""


def set_native(record: object, **fields: object) -> None:
    """Give a new frozen record of a compiled build its fields (from its ``__init__`` only)."""
    for name, value in fields.items():
        object.__setattr__(record, name, value)
