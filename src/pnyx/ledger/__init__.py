"""pnyx.ledger."""
