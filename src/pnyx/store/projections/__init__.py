"""Projectors, one module per area; importing this package registers all of them."""

from pnyx.store.projections import identity, inventory, ledger

__all__ = ["identity", "inventory", "ledger"]
