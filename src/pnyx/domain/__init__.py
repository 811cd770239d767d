"""pnyx.domain."""
