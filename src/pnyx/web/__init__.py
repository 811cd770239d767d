"""pnyx.web."""
