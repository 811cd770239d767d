"""Views of capacity that placement works on, besides the live :class:`CapacityIndex`.

- :class:`ArrayView`: a what-if state given as whole arrays (free and owner per node), e.g. the
  facility as it will be at a reservation's shadow time. Computed with vector operations over
  all nodes; used a few dozen times per pass, not per job.
- :class:`HeldView`: the live index plus the capacity held for reservations, for a job that ends
  before every reservation starts (EASY backfill's "short job" rule).

All implement :class:`CapacityView`. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np

from pnyx.sched.capacity import FREE_OWNER, NO_FIT, CapacityIndex, add_per_pod
from pnyx.sched.facility import BoolArray, Facility, IntArray
from pnyx.sched.jobs import EXCLUSIVE_LEVEL, JobRequest


class CapacityView(Protocol):
    """What placement asks of a capacity state."""

    @property
    def fac(self) -> Facility:
        """The facility's static shape."""

    def usable_list(self, nodes: Iterable[int], job: JobRequest, type_code: int) -> list[int]:
        """Accelerators ``job`` may use on each of ``nodes`` (0 where it may not)."""

    def pod_capacity(self, job: JobRequest, type_code: int) -> IntArray:
        """Per pod: usable nodes with ``per_node`` free (gang) or usable accelerators (packing)."""

    def best_node(self, job: JobRequest, type_code: int, need: int) -> tuple[int, int] | None:
        """(node, usable) with the fewest usable accelerators that are >= ``need``, or None."""

    def upper_bound(self, job: JobRequest, type_code: int) -> int:
        """At least the facility-wide total of what ``pod_capacity`` could sum to."""


def usable_array(
    fac: Facility,
    free: IntArray,
    owner: IntArray,
    ok_node: BoolArray,
    job: JobRequest,
    type_code: int,
) -> IntArray:
    """Whole-facility vector version of :meth:`CapacityIndex.usable_list` (plans ignored)."""
    ok = ok_node & (fac.type_code == type_code)
    if job.containment >= EXCLUSIVE_LEVEL:
        ok &= (owner == job.project) | ((owner == FREE_OWNER) & (free == fac.total))
    else:
        ok &= (owner == FREE_OWNER) | (owner == job.project)
    return np.where(ok, free, 0)


class ArrayView:
    """A capacity state given as whole-facility arrays (a forecast, a test fixture)."""

    def __init__(
        self, fac: Facility, free: IntArray, owner: IntArray, up: BoolArray, level: IntArray
    ) -> None:
        self._fac = fac
        self.free, self.owner, self.up, self.level = free, owner, up, level
        self._last: tuple[int, int, IntArray] | None = None

    @property
    def fac(self) -> Facility:
        """The facility's static shape."""
        return self._fac

    def usable(self, job: JobRequest, type_code: int) -> IntArray:
        """Usable accelerators on every node (cached for the last job and type asked)."""
        if self._last is None or self._last[:2] != (id(job), type_code):
            ok = self.up & (self.level >= job.containment)
            u = usable_array(self._fac, self.free, self.owner, ok, job, type_code)
            self._last = (id(job), type_code, u)
        return self._last[2]

    def usable_list(self, nodes: Iterable[int], job: JobRequest, type_code: int) -> list[int]:
        """Accelerators ``job`` may use on each of ``nodes``."""
        u = self.usable(job, type_code)
        return u[np.fromiter(nodes, dtype=np.int64)].tolist()  # type: ignore[no-any-return]

    def pod_capacity(self, job: JobRequest, type_code: int) -> IntArray:
        """Per pod: usable nodes with ``per_node`` free (gang) or usable accelerators (packing)."""
        u, g = self.usable(job, type_code), job.per_node or 0
        weights = (u >= g) & (u > 0) if g else u
        return np.bincount(self._fac.pod, weights=weights, minlength=self._fac.n_pods).astype(
            np.int64
        )

    def upper_bound(self, job: JobRequest, type_code: int) -> int:
        """No cheap bound here: no pruning."""
        return NO_FIT

    def best_node(self, job: JobRequest, type_code: int, need: int) -> tuple[int, int] | None:
        """(node, usable) with the fewest usable accelerators that are >= ``need``, or None."""
        u = self.usable(job, type_code)
        fit = np.where(u >= need, u, NO_FIT)
        i = int(np.argmin(fit))
        return (i, int(u[i])) if fit[i] != NO_FIT else None


class HeldView:
    """The live index with held capacity counted as free, and no reservation plans."""

    def __init__(self, index: CapacityIndex) -> None:
        self.index = index
        self._held = index.held_nodes()

    @property
    def fac(self) -> Facility:
        """The facility's static shape."""
        return self.index.fac

    def usable_list(self, nodes: Iterable[int], job: JobRequest, type_code: int) -> list[int]:
        """Free plus held accelerators ``job`` may use on each of ``nodes``."""
        return self.index.usable_list(nodes, job, type_code, with_held=True)

    def _overlay(self, project: int) -> list[int]:
        own = self.index.own_nodes(project)
        return sorted(set(self._held).union(own)) if own else self._held

    def pod_capacity(self, job: JobRequest, type_code: int) -> IntArray:
        """Aggregates of open nodes, with held and own nodes recounted at free + held."""
        ix = self.index
        pod_of = ix.fac.pod_of
        cap = ix.open_capacity(job, type_code)
        opened = [n for n in self._held if ix.owner[n] == FREE_OWNER]
        counted = ix.usable_list(opened, job, type_code)
        add_per_pod(cap, pod_of, opened, counted, job.per_node, sign=-1)
        extra = self._overlay(job.project)
        add_per_pod(cap, pod_of, extra, self.usable_list(extra, job, type_code), job.per_node)
        return cap

    def upper_bound(self, job: JobRequest, type_code: int) -> int:
        """The index's bound plus everything held and everything the project owns."""
        ix = self.index
        own = ix.own_nodes(job.project)
        if job.per_node:
            extra = len(self._held) + len(own)
        else:
            extra = sum(ix.held[n] for n in self._held) + sum(ix.free[n] for n in own)
        return ix.upper_bound(job, type_code) + extra

    def best_node(self, job: JobRequest, type_code: int, need: int) -> tuple[int, int] | None:
        """The index's best open node, or a held / own node that fits more tightly."""
        best = self.index.best_node(job, type_code, need)
        if best is not None:
            best = (best[0], self.usable_list([best[0]], job, type_code)[0])
        extra = self._overlay(job.project)
        for n, u in zip(extra, self.usable_list(extra, job, type_code), strict=True):
            if need <= u and (best is None or u < best[1]):
                best = (n, u)
        return best
