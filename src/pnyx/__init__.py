"""pnyx: operating software of a publicly governed AI supercomputing facility."""

from pnyx.native import check_source_tree

__version__ = "0.1.0"

check_source_tree()
