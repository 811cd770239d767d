"""Fragmentation: free accelerators that no pending job could use (after a pass).

A pending job's *unit* is the smallest piece of one node it can run on: ``per_node`` for a
gang, its whole size for a packing job that fits one node (placement puts it on one node when
one has room), one accelerator for a larger packing job. A free accelerator is *unusable* when
it sits on an open node whose free count is below the smallest unit of every pending job that
accepts the node's type and level (FGD-style fragmentation, measured against the actual queue).
With nothing pending, nothing counts as unusable: that capacity is idle, not fragmented.
CL-3/4 exclusivity (idle nodes only) is not modelled: such nodes count like others.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import numpy as np

from pnyx.sched.capacity import LEVELS
from pnyx.sched.state import SchedulerState


def unusable_free(state: SchedulerState) -> tuple[int, int]:
    """(free accelerators on open nodes, those no pending job could use)."""
    index, q = state.index, state.pending
    free = index.open_free()
    if not free or not len(q):
        return free, 0
    top = state.fac.max_per_node
    slots = q.slots()
    shape = q.shape[slots]
    per_node = np.array([g for _, _, g in state.shapes], dtype=np.int64)
    g = per_node[shape]
    acc = q.accelerators[slots]
    unit = np.where(g > 0, g, np.where(acc <= top, acc, 1))
    smallest = np.full(len(state.shapes), top + 1, dtype=np.int64)
    np.minimum.at(smallest, shape, unit)
    # per (type, level): the smallest unit of the pending shapes that may use such nodes
    rows = np.full((state.fac.n_types, LEVELS), top + 1, dtype=np.int64)
    for s in np.flatnonzero(smallest <= top).tolist():
        types, level, _ = state.shapes[s]
        for t in types:
            if t < rows.shape[0]:
                rows[t, level:] = np.minimum(rows[t, level:], smallest[s])
    unusable = 0
    for t in range(rows.shape[0]):
        for c in range(LEVELS):
            counts = index.open_nodes_by_free(t, c)
            unusable += sum(f * counts[f] for f in range(1, int(rows[t, c])) if f < len(counts))
    return free, unusable
