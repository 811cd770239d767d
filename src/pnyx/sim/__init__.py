"""The simulator: drives the scheduling core (:mod:`pnyx.sched`) with an injected clock.

For now the synthetic benchmark (:mod:`pnyx.sim.bench`); trace replay and metrics come later.
"""
