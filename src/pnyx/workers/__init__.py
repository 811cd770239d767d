"""pnyx.workers."""
