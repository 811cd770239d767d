"""pnyx: operating software of a publicly governed AI supercomputing facility."""

__version__ = "0.1.0"
