"""The simulator: drives the scheduling core (:mod:`pnyx.sched`) with an injected clock.

Trace replay (:mod:`pnyx.sim.trace`, :mod:`pnyx.sim.replay`, :mod:`pnyx.sim.engine`), the
policies compared (:mod:`pnyx.sim.policies`), the metrics of DESIGN section 8
(:mod:`pnyx.sim.metrics`) and the synthetic benchmark (:mod:`pnyx.sim.bench`). See
docs/simulator.md.
"""
