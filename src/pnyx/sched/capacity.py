"""The capacity index: free accelerators per node, with per-pod aggregates kept incrementally.

Per node (plain lists, cheap to read and write one at a time): free accelerators, held
accelerators (capacity a backfill pass keeps aside for a reservation), the certified containment
level, whether the node is up, its exclusive owner (the project of a CL-3/CL-4 job on it, -1
when none) and the reservation plan it belongs to during a pass.

A node is *open* when it is up and has no exclusive owner; only open nodes enter the
aggregates (a project's own exclusive nodes are few and are looked at directly):

- per *group* (the nodes of one pod with one type and one level; groups are laid out by type,
  then level from CL-4 down, then pod, so that "type t, level >= k" is one contiguous slice):
  free accelerators ``g_free``, accelerators of wholly idle nodes ``g_idle``, and histograms
  ``hist[f, group]`` / ``idle_hist[f, group]`` of nodes with ``f`` free (idle nodes by size);
- :class:`~pnyx.sched.buckets.NodeBuckets` of open nodes by (type, level, free, idle) for the
  best-fit one-node search.

Changing one node touches a constant number of entries (O(1) per node slice of an allocation or
release); asking every pod's capacity for a job is a handful of vector operations over one
slice, never a Python loop over nodes. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from heapq import heappop, heappush

import numpy as np

from pnyx.errors import ConflictError, InvalidInputError
from pnyx.sched.buckets import NodeBuckets
from pnyx.sched.facility import MAX_LEVEL, BoolArray, Facility, IntArray
from pnyx.sched.jobs import EXCLUSIVE_LEVEL, JobRequest

FREE_OWNER = -1
"""Owner (and plan) id of a node that no project holds."""
MANY_PROJECTS = -2
"""Plan id of a node planned for reservations of several projects."""
NO_FIT = int(np.iinfo(np.int64).max)
"""Sentinel for "does not fit" in minimum searches."""
LEVELS = MAX_LEVEL + 1


class CapacityIndex:
    """Live free capacity of a :class:`Facility`, updated per allocation and release."""

    def __init__(self, facility: Facility) -> None:
        fac = self.fac = facility
        n = fac.n_nodes
        self.free: list[int] = fac.total.tolist()
        self.held: list[int] = [0] * n
        self.level: list[int] = fac.containment.tolist()
        self.up: list[bool] = [True] * n
        self.owner: list[int] = [FREE_OWNER] * n
        self.plan: list[int] = [FREE_OWNER] * n
        self.owned: dict[int, set[int]] = {}
        self.owned_room: dict[int, int] = {}
        """Per project: free + held accelerators on its exclusive up nodes (only if > 0)."""
        self._held_nodes: set[int] = set()
        self._planned: list[int] = []
        self._type: list[int] = fac.type_code.tolist()
        self._total: list[int] = fac.total.tolist()
        self._layout_groups()
        f = fac.max_per_node + 1
        self.g_free: IntArray = np.zeros(self._n_groups, dtype=np.int64)
        self.g_idle: IntArray = np.zeros(self._n_groups, dtype=np.int64)
        self.hist: IntArray = np.zeros((f, self._n_groups), dtype=np.int64)
        self.idle_hist: IntArray = np.zeros((f, self._n_groups), dtype=np.int64)
        self.buckets = NodeBuckets(fac.n_types, fac.max_per_node)
        self._n_free = fac.max_per_node + 1
        self._delta: dict[int, int] = {}
        rows = fac.n_types * LEVELS
        self._tc_nodes: list[list[int]] = [[0] * f for _ in range(rows)]
        """Open nodes per (type, level) row and free count."""
        self._tc_idle: list[list[int]] = [[0] * f for _ in range(rows)]
        """Idle open nodes per (type, level) row and size."""
        self._tc_free: list[int] = [0] * rows
        self._tc_idle_free: list[int] = [0] * rows
        self._static: tuple[IntArray, BoolArray, IntArray] | None = None
        """Owner, up and level arrays for :meth:`arrays`, until one of them changes."""
        self._room: IntArray = fac.total.astype(np.int64)
        """Free + held per node as of the last :meth:`arrays`, then patched at ``_dirty``."""
        self._dirty: list[int] = []
        """Nodes whose free or held count may have changed since the last :meth:`arrays`."""
        self._open_rows: dict[tuple[int, int, bool], tuple[list[list[int]], list[int]]] = {}
        """(type, level, exclusive) -> the count rows and bucket bases a best-fit search reads
        (only levels some node of the type has; cleared when a node's level changes)."""
        for node in range(n):
            self._count(node, 1)
        self._flush()
        self._dirty.clear()

    def _layout_groups(self) -> None:
        fac = self.fac
        self._type_pods: list[IntArray] = []
        self._base: list[int] = []
        slot = np.zeros(fac.n_nodes, dtype=np.int64)
        start = 0
        for t in range(fac.n_types):
            pods = np.unique(fac.pod[fac.type_code == t])
            self._type_pods.append(pods)
            self._base.append(start)
            of_type = fac.type_code == t
            slot[of_type] = start + np.searchsorted(pods, fac.pod[of_type])
            start += LEVELS * pods.size
        self._n_groups = start
        self._slot: list[int] = slot.tolist()
        self._stride: list[int] = [self._type_pods[t].size for t in self._type]
        self._group: list[int] = [0] * fac.n_nodes
        """Per node: its group (pod, type, level) in the group arrays."""
        self._row: list[int] = [0] * fac.n_nodes
        """Per node: its (type, level) row."""
        for n in range(fac.n_nodes):
            self._place_node(n)

    def _place_node(self, n: int) -> None:
        """Work out node ``n``'s group and row from its type, pod and level."""
        c = self.level[n]
        self._group[n] = self._slot[n] + (MAX_LEVEL - c) * self._stride[n]
        self._row[n] = self._type[n] * LEVELS + c

    # -- aggregates -------------------------------------------------------------------------

    def _count(self, n: int, sign: int) -> None:
        """Add (sign=1) or remove (sign=-1) node ``n``'s contribution to the aggregates.

        An owned node counts towards its owner's ``owned_room``; an open one towards the
        buckets and per-(type, level) counters at once, and the group arrays at the next
        :meth:`_flush`.
        """
        self._dirty.append(n)
        if not self.up[n]:
            return
        owner = self.owner[n]
        if owner != FREE_OWNER:
            room = self.owned_room.get(owner, 0) + sign * (self.free[n] + self.held[n])
            if room:
                self.owned_room[owner] = room
            else:
                self.owned_room.pop(owner, None)
            return
        c, f, t = self.level[n], self.free[n], self._type[n]
        idle = f == self._total[n]
        group = self._slot[n] + (MAX_LEVEL - c) * self._stride[n]
        row = t * LEVELS + c
        delta = self._delta
        cell = (2 * f + idle) * self._n_groups + group
        delta[cell] = delta.get(cell, 0) + sign
        self._tc_nodes[row][f] += sign
        self._tc_free[row] += sign * f
        if idle:
            self._tc_idle[row][f] += sign
            self._tc_idle_free[row] += sign * f
        key = ((row * self._n_free + f) << 1) + idle
        if sign > 0:
            self.buckets.add(key, n)
        else:
            self.buckets.remove(key, n)

    def _shift(self, n: int, f0: int, f1: int) -> None:
        """An open, up node's free count goes from ``f0`` to ``f1`` (owner unchanged): the
        net effect of ``_count(n, -1)``, the change, ``_count(n, 1)`` in one step."""
        self._dirty.append(n)
        group, row, total = self._group[n], self._row[n], self._total[n]
        i0, i1 = f0 == total, f1 == total
        ng, delta = self._n_groups, self._delta
        k0, k1 = (2 * f0 + i0) * ng + group, (2 * f1 + i1) * ng + group
        delta[k0] = delta.get(k0, 0) - 1
        delta[k1] = delta.get(k1, 0) + 1
        nodes = self._tc_nodes[row]
        nodes[f0] -= 1
        nodes[f1] += 1
        self._tc_free[row] += f1 - f0
        if i0:
            self._tc_idle[row][f0] -= 1
            self._tc_idle_free[row] -= f0
        if i1:
            self._tc_idle[row][f1] += 1
            self._tc_idle_free[row] += f1
        # NodeBuckets.remove then .add, inlined (two per allocation or release)
        base = row * self._n_free
        buckets = self.buckets
        members, heaps = buckets.members, buckets.heaps
        key = ((base + f0) << 1) + i0
        old = members[key]
        old.discard(n)
        if len(heaps[key]) > 2 * len(old) + 64:
            heaps[key] = sorted(old)
        key = ((base + f1) << 1) + i1
        new = members[key]
        if n not in new:
            new.add(n)
            heappush(heaps[key], n)

    def _flush(self) -> None:
        """Apply the queued net changes of (free count, idle, group) to the group arrays."""
        if not self._delta:
            return
        cells = np.fromiter(self._delta.keys(), dtype=np.int64, count=len(self._delta))
        change = np.fromiter(self._delta.values(), dtype=np.int64, count=len(self._delta))
        self._delta.clear()
        f_idle, group = np.divmod(cells, self._n_groups)
        f, idle = np.divmod(f_idle, 2)
        np.add.at(self.hist, (f, group), change)
        np.add.at(self.g_free, group, change * f)
        hit = idle == 1
        if hit.any():
            np.add.at(self.idle_hist, (f[hit], group[hit]), change[hit])
            np.add.at(self.g_idle, group[hit], change[hit] * f[hit])

    def _set_owner(self, n: int, project: int) -> None:
        old = self.owner[n]
        if old == project:
            return
        if old != FREE_OWNER:
            self.owned[old].discard(n)
            if not self.owned[old]:
                del self.owned[old]
        if project != FREE_OWNER:
            self.owned.setdefault(project, set()).add(n)
        self.owner[n] = project
        self._static = None

    # -- changes ----------------------------------------------------------------------------

    def allocate(
        self,
        nodes: Sequence[int],
        counts: Sequence[int],
        project: int,
        exclusive: bool,
        use_held: bool,
    ) -> None:
        """Take ``counts`` accelerators on ``nodes`` for a job of ``project``.

        ``use_held``: the job ends before every reservation starts, so it may use held
        capacity (taken from the hold first). Raises ConflictError rather than over-allocate
        or break exclusivity; nothing is changed then.
        """
        free, owner, up = self.free, self.owner, self.up
        if len(nodes) == 1 and len(counts) == 1 and not exclusive and not use_held:
            # the common case, checked and applied at once: one open node with room
            n, c = nodes[0], counts[0]
            f0 = free[n]
            if 1 <= c <= f0 and up[n] and owner[n] == FREE_OWNER:
                free[n] = f0 - c
                self._shift(n, f0, f0 - c)
                return
        for n, c in zip(nodes, counts, strict=True):
            self._check_allocation(n, c, project, exclusive, use_held)
        fast = not exclusive and not use_held
        for n, c in zip(nodes, counts, strict=True):
            if fast and up[n] and owner[n] == FREE_OWNER:
                f0 = free[n]
                free[n] = f0 - c
                self._shift(n, f0, f0 - c)
                continue
            from_held = min(c, self.held[n]) if use_held else 0
            self._count(n, -1)
            self.held[n] -= from_held
            self.free[n] -= c - from_held
            if exclusive:
                self._set_owner(n, project)
            self._count(n, 1)

    def _check_allocation(
        self, n: int, c: int, project: int, exclusive: bool, use_held: bool
    ) -> None:
        room = self.free[n] + (self.held[n] if use_held else 0)
        if c < 1 or c > room or not self.up[n]:
            raise ConflictError(f"node {n}: cannot allocate {c}, {room} usable")
        owner = self.owner[n]
        if owner not in (FREE_OWNER, project):
            raise ConflictError(f"node {n}: held exclusively by project {owner}")
        if exclusive and owner == FREE_OWNER and self.free[n] + self.held[n] != self._total[n]:
            raise ConflictError(f"node {n}: an exclusive job needs the node idle")

    def release(self, nodes: Sequence[int], counts: Sequence[int]) -> None:
        """Give back accelerators of a finished job; a node left empty loses its owner."""
        free, held, total, owner, up = self.free, self.held, self._total, self.owner, self.up
        if len(nodes) == 1 and len(counts) == 1:  # one open node: checked and applied at once
            n, c = nodes[0], counts[0]
            f0 = free[n]
            if f0 + held[n] + c <= total[n] and up[n] and owner[n] == FREE_OWNER:
                free[n] = f0 + c
                self._shift(n, f0, f0 + c)
                return
        for n, c in zip(nodes, counts, strict=True):
            if free[n] + held[n] + c > total[n]:
                raise ConflictError(f"node {n}: releasing {c} would exceed its total")
        for n, c in zip(nodes, counts, strict=True):
            if up[n] and owner[n] == FREE_OWNER:
                f0 = free[n]
                free[n] = f0 + c
                self._shift(n, f0, f0 + c)
                continue
            self._count(n, -1)
            self.free[n] += c
            if self.free[n] + self.held[n] == self._total[n]:
                self._set_owner(n, FREE_OWNER)
            self._count(n, 1)

    def hold(self, nodes: list[int], counts: list[int]) -> None:
        """Keep free capacity aside for a reservation (only within one pass)."""
        for n, c in zip(nodes, counts, strict=True):
            c = min(c, self.free[n])
            if c > 0:
                self._count(n, -1)
                self.free[n] -= c
                self.held[n] += c
                self._held_nodes.add(n)
                self._count(n, 1)

    def mark_plan(self, nodes: list[int], project: int) -> None:
        """Record that a reservation of ``project`` plans to use ``nodes``."""
        for n in nodes:
            cur = self.plan[n]
            self.plan[n] = project if cur in (FREE_OWNER, project) else MANY_PROJECTS
            self._planned.append(n)

    def unhold_all(self) -> None:
        """Return all held capacity to free and forget reservation plans."""
        for n in self._held_nodes:
            self._count(n, -1)
            self.free[n] += self.held[n]
            self.held[n] = 0
            self._count(n, 1)
        self._held_nodes.clear()
        for n in self._planned:
            self.plan[n] = FREE_OWNER
        self._planned.clear()
        if len(self._dirty) > 4 * self.fac.n_nodes:
            self._dirty = list(set(self._dirty))

    def set_up(self, node: int, up: bool) -> None:
        """Take a node out of service (failure, drain) or bring it back."""
        self._count(node, -1)
        self.up[node] = up
        self._static = None
        self._count(node, 1)

    def set_level(self, node: int, level: int) -> None:
        """Change a node's certified containment level (a certificate granted or expired)."""
        if not 0 <= level <= MAX_LEVEL:
            raise InvalidInputError(f"node {node}: level must be 0..{MAX_LEVEL}, got {level}")
        self._open_rows.clear()
        self._static = None
        self._count(node, -1)
        self.level[node] = level
        self._place_node(node)
        self._count(node, 1)

    # -- queries ----------------------------------------------------------------------------

    def held_nodes(self) -> list[int]:
        """Nodes with held capacity, in id order."""
        return sorted(self._held_nodes)

    def own_nodes(self, project: int) -> list[int]:
        """Nodes held exclusively by ``project``, in id order."""
        return sorted(self.owned.get(project, ()))

    def usable_list(
        self, nodes: Iterable[int], job: JobRequest, type_code: int, with_held: bool = False
    ) -> list[int]:
        """Accelerators ``job`` may use on each of ``nodes`` (0 where it may not).

        Plain: free now, and a project's own nodes planned for another project's reservation
        are off limits. ``with_held``: free plus held, plans ignored (a job that ends first).
        """
        k, proj, excl = job.containment, job.project, job.exclusive
        out = []
        for n in nodes:
            f = self.free[n] + (self.held[n] if with_held else 0)
            if self._type[n] != type_code or not self.up[n] or self.level[n] < k:
                out.append(0)
                continue
            o = self.owner[n]
            if o == FREE_OWNER:
                ok = not excl or f == self._total[n]
            else:
                ok = o == proj and (with_held or self.plan[n] in (FREE_OWNER, proj))
            out.append(f if ok else 0)
        return out

    def open_capacity(self, job: JobRequest, type_code: int) -> IntArray:
        """Per pod, on open nodes: usable nodes (gang shape) or usable accelerators (packing)."""
        self._flush()
        cap = np.zeros(self.fac.n_pods, dtype=np.int64)
        pods = self._type_pods[type_code]
        if not pods.size:
            return cap
        k, g = job.containment, job.per_node or 0
        a = self._base[type_code]
        b = a + (LEVELS - k) * pods.size
        if job.exclusive:
            vals = self.idle_hist[g:, a:b].sum(axis=0) if g else self.g_idle[a:b]
        else:
            vals = self.hist[g:, a:b].sum(axis=0) if g else self.g_free[a:b]
        cap[pods] = vals.reshape(-1, pods.size).sum(axis=0)
        return cap

    def pod_capacity(self, job: JobRequest, type_code: int) -> IntArray:
        """Per pod: nodes ``job`` can use with ``per_node`` free each, or usable accelerators."""
        cap = self.open_capacity(job, type_code)
        own = self.own_nodes(job.project)
        if own:
            add_per_pod(
                cap, self.fac.pod_of, own, self.usable_list(own, job, type_code), job.per_node
            )
        return cap

    def best_node(self, job: JobRequest, type_code: int, need: int) -> tuple[int, int] | None:
        """(node, usable) with the fewest usable accelerators that are still >= ``need``."""
        best = self._best_open(job, type_code, need)
        if job.project in self.owned:
            own = self.own_nodes(job.project)
            for n, u in zip(own, self.usable_list(own, job, type_code), strict=True):
                if need <= u and (best is None or u <= best[1]):
                    best = (n, u)
        return best

    def _best_open(self, job: JobRequest, type_code: int, need: int) -> tuple[int, int] | None:
        buckets, exclusive = self.buckets, job.exclusive
        plan = self._open_rows.get((type_code, job.containment, exclusive))
        if plan is None:
            counts = self._tc_idle if exclusive else self._tc_nodes
            present = {c for n, c in enumerate(self.level) if self._type[n] == type_code}
            levels = [c for c in range(job.containment, LEVELS) if c in present]
            plan = (
                [counts[type_code * LEVELS + c] for c in levels],
                [buckets.key(type_code, c, 0, False) for c in levels],
            )
            self._open_rows[(type_code, job.containment, exclusive)] = plan
        rows, bases = plan
        members, heaps = buckets.members, buckets.heaps
        shared = not exclusive
        for f in range(need, self._n_free):
            for row in rows:
                if row[f]:
                    break
            else:
                continue
            best = NO_FIT
            for base in bases:
                key = base + 2 * f
                for k in (key, key + 1) if shared else (key + 1,):
                    inside = members[k]
                    if inside:  # NodeBuckets.first inlined: the lowest live id of the heap
                        heap = heaps[k]
                        while heap[0] not in inside:
                            heappop(heap)
                        if heap[0] < best:
                            best = heap[0]
            return best, f
        return None

    def upper_bound(self, job: JobRequest, type_code: int) -> int:
        """At least the most ``job`` could get on type ``type_code`` facility-wide, in units
        of its ``need`` (nodes with ``per_node`` usable, or accelerators). O(levels x sizes).
        """
        g = job.per_node or 0
        total = self.open_bound(type_code, job.containment, g)
        own = self.owned.get(job.project)
        if own:
            total += sum(1 if g else f for f in self.usable_list(own, job, type_code) if f >= g)
        return total

    def open_bound(self, type_code: int, level: int, per_node: int) -> int:
        """Open capacity for jobs of one shape: nodes with ``per_node`` free at level >=
        ``level`` (idle ones for CL-3/4), or their free accelerators when ``per_node`` is 0."""
        exclusive = level >= EXCLUSIVE_LEVEL
        nodes = self._tc_idle if exclusive else self._tc_nodes
        free = self._tc_idle_free if exclusive else self._tc_free
        total = 0
        for c in range(level, LEVELS):
            row = type_code * LEVELS + c
            total += sum(nodes[row][per_node:]) if per_node else free[row]
        return total

    def held_room_by_type(self) -> tuple[list[int], list[int]]:
        """Per type code: nodes with held capacity, and their free + held accelerators."""
        nodes, room = [0] * self.fac.n_types, [0] * self.fac.n_types
        for n in self._held_nodes:
            t = self._type[n]
            nodes[t] += 1
            room[t] += self.free[n] + self.held[n]
        return nodes, room

    def arrays(self) -> tuple[IntArray, IntArray, BoolArray, IntArray]:
        """Whole-facility arrays: free + held, owner, up, level (for forecasts).

        Owner, up and level are shared read-only arrays, rebuilt only after one changes; free
        + held is a fresh copy, patched from the last call's at the nodes changed since.
        """
        dirty, room = self._dirty, self._room
        if dirty:
            nodes = list(set(dirty))
            dirty.clear()
            now_free, held = self.free, self.held
            room[nodes] = [now_free[n] + held[n] for n in nodes]
        free = room.copy()
        if self._static is None:
            owner = np.asarray(self.owner, dtype=np.int64)
            up = np.asarray(self.up, dtype=np.bool_)
            level = np.asarray(self.level, dtype=np.int64)
            for arr in (owner, up, level):
                arr.setflags(write=False)
            self._static = (owner, up, level)
        owner, up, level = self._static
        return free, owner, up, level

    def open_nodes_by_free(self, type_code: int, level: int) -> list[int]:
        """Open up nodes of ``type_code`` certified exactly ``level``, counted by free
        accelerators (index = free count); read-only."""
        return self._tc_nodes[type_code * LEVELS + level]

    def open_free(self) -> int:
        """Free accelerators on up nodes that no project owns (O(types x levels))."""
        return sum(self._tc_free)

    def total_free(self) -> int:
        """Free accelerators on up nodes (held excluded)."""
        return sum(f for f, up in zip(self.free, self.up, strict=True) if up)


def add_per_pod(
    cap: IntArray,
    pod_of: list[int],
    nodes: list[int],
    usable: list[int],
    per_node: int | None,
    sign: int = 1,
) -> None:
    """Add (or subtract) the nodes' usable accelerators, or their count of fitting nodes."""
    g = per_node or 0
    for n, u in zip(nodes, usable, strict=True):
        w = (1 if u >= g and u > 0 else 0) if g else u
        if w:
            cap[pod_of[n]] += sign * w
