"""pnyx.api."""
