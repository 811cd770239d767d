"""pnyx.cli."""
