"""Projectors, one module per area; importing this package registers all of them."""

from pnyx.store.projections import allocation, council, identity, inventory, ledger

__all__ = ["allocation", "council", "identity", "inventory", "ledger"]
