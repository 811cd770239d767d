"""pnyx.services."""
