"""Projectors, one module per area; importing this package registers all of them."""

from pnyx.store.projections import allocation, council, identity, inventory, ledger
from pnyx.store.projections import datasets as datasets
from pnyx.store.projections import dispatch as dispatch
from pnyx.store.projections import jobs as jobs
from pnyx.store.projections import models as models
from pnyx.store.projections import search as search

__all__ = ["allocation", "council", "identity", "inventory", "ledger", "models"]
