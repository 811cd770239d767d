"""Jobs as the scheduler sees them: requests, allocations, the pending queue and running table.

The pending queue and the running table keep numpy columns so that a pass can rank 10,000
pending jobs, and a reservation can add up 30,000 running jobs' expected releases, with vector
operations rather than Python loops. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from pnyx.errors import ConflictError, InvalidInputError, NotFoundError
from pnyx.sched.facility import MAX_LEVEL, MAX_TYPES, BoolArray, FloatArray, IntArray
from pnyx.sched.records import NATIVE, set_native

EXCLUSIVE_LEVEL = 3
"""From this containment level on, a job never shares a node with another project."""


@dataclass(frozen=True)
class JobRequest:
    """What a job asks for.

    ``accelerators`` is the total; ``per_node`` fixes the gang shape (``accelerators /
    per_node`` nodes with ``per_node`` each) or is None to pack freely. ``types`` lists the
    acceptable accelerator type codes (all nodes of one allocation share one type).
    ``containment`` is the level 1..4 the job needs. ``member > programme > project > user`` place
    it in the fair-share tree.
    """

    job_id: int
    project: int
    member: int
    programme: int
    user: int
    accelerators: int
    per_node: int | None
    types: tuple[int, ...]
    containment: int
    time_limit_s: float
    submit_s: float
    preemptible: bool = False
    checkpoint_interval_s: float | None = None
    attained_accel_s: float = 0.0
    """Service already received (accelerator-seconds run before a requeue)."""
    exclusive: bool = field(init=False, repr=False, compare=False)
    """CL-3 and CL-4 jobs hold their nodes exclusively for their project."""
    need: int = field(init=False, repr=False, compare=False)
    """The placement's size: nodes for a gang shape, accelerators when packing freely."""

    def __init__(
        self,
        job_id: int,
        project: int,
        member: int,
        programme: int,
        user: int,
        accelerators: int,
        per_node: int | None,
        types: tuple[int, ...],
        containment: int,
        time_limit_s: float,
        submit_s: float,
        preemptible: bool = False,
        checkpoint_interval_s: float | None = None,
        attained_accel_s: float = 0.0,
    ) -> None:
        if NATIVE:
            set_native(
                self,
                job_id=job_id,
                project=project,
                member=member,
                programme=programme,
                user=user,
                accelerators=accelerators,
                per_node=per_node,
                types=types,
                containment=containment,
                time_limit_s=time_limit_s,
                submit_s=submit_s,
                preemptible=preemptible,
                checkpoint_interval_s=checkpoint_interval_s,
                attained_accel_s=attained_accel_s,
            )
            self._check()
            set_native(
                self,
                exclusive=containment >= EXCLUSIVE_LEVEL,
                need=accelerators // per_node if per_node else accelerators,
            )
            return
        # one per submission: the fields go straight into the instance's dict, not through
        # the frozen class's object.__setattr__ per field (the instance stays frozen)
        d = self.__dict__
        d["job_id"], d["project"], d["member"] = job_id, project, member
        d["programme"], d["user"], d["accelerators"] = programme, user, accelerators
        d["per_node"], d["types"], d["containment"] = per_node, types, containment
        d["time_limit_s"], d["submit_s"], d["preemptible"] = time_limit_s, submit_s, preemptible
        d["checkpoint_interval_s"], d["attained_accel_s"] = checkpoint_interval_s, attained_accel_s
        self._check()
        d["exclusive"] = containment >= EXCLUSIVE_LEVEL
        d["need"] = accelerators // per_node if per_node else accelerators

    def _check(self) -> None:
        if self.accelerators < 1:
            raise InvalidInputError(f"job {self.job_id}: accelerators must be >= 1")
        if self.per_node is not None and (
            self.per_node < 1 or self.accelerators % self.per_node != 0
        ):
            raise InvalidInputError(
                f"job {self.job_id}: per_node {self.per_node} must be >= 1 and divide "
                f"accelerators {self.accelerators}"
            )
        types = self.types
        if len(types) == 1:
            if not 0 <= types[0] < MAX_TYPES:
                raise InvalidInputError(
                    f"job {self.job_id}: type codes must lie in 0..{MAX_TYPES - 1}"
                )
        elif not types or len(set(types)) != len(types):
            raise InvalidInputError(f"job {self.job_id}: types must be distinct and not empty")
        elif min(types) < 0 or max(types) >= MAX_TYPES:
            raise InvalidInputError(f"job {self.job_id}: type codes must lie in 0..{MAX_TYPES - 1}")
        if not 1 <= self.containment <= MAX_LEVEL:
            raise InvalidInputError(
                f"job {self.job_id}: containment must be 1..{MAX_LEVEL}, got {self.containment}"
            )
        if not self.time_limit_s > 0:
            raise InvalidInputError(f"job {self.job_id}: time_limit_s must be > 0")
        if self.checkpoint_interval_s is not None and not self.checkpoint_interval_s > 0:
            raise InvalidInputError(f"job {self.job_id}: checkpoint_interval_s must be > 0")
        if self.attained_accel_s < 0:
            raise InvalidInputError(f"job {self.job_id}: attained_accel_s must be >= 0")

    @property
    def path(self) -> tuple[int, int, int, int]:
        """Position in the fair-share tree: (member, programme, project, user)."""
        return (self.member, self.programme, self.project, self.user)


@dataclass(frozen=True)
class Allocation:
    """Where a job runs: ``counts[i]`` accelerators on node ``nodes[i]`` (nodes distinct)."""

    nodes: tuple[int, ...]
    counts: tuple[int, ...]

    def __init__(self, nodes: tuple[int, ...], counts: tuple[int, ...]) -> None:
        if NATIVE:
            set_native(self, nodes=nodes, counts=counts)
            return
        d = self.__dict__  # fast init of a frozen instance, as RunningJob's
        d["nodes"], d["counts"] = nodes, counts

    @classmethod
    def of(cls, nodes: list[int], counts: list[int]) -> Allocation:
        """An allocation from plain lists."""
        return cls(tuple(nodes), tuple(counts))

    @property
    def accelerators(self) -> int:
        """Accelerators allocated in all."""
        return sum(self.counts)

    def pairs(self) -> list[tuple[int, int]]:
        """``[(node, accelerators), ...]``."""
        return list(zip(self.nodes, self.counts, strict=True))

    def node_array(self) -> IntArray:
        """The nodes as an int64 array."""
        return np.asarray(self.nodes, dtype=np.int64)

    def count_array(self) -> IntArray:
        """The counts as an int64 array."""
        return np.asarray(self.counts, dtype=np.int64)


def _grow(arr: npt.NDArray[Any], size: int) -> npt.NDArray[Any]:
    out = np.zeros(size, dtype=arr.dtype)
    out[: arr.size] = arr
    return out


class PendingQueue:
    """Pending jobs in slots, with numpy columns for vectorised ranking and filtering.

    Columns: ``submit_s``, ``time_limit_s``, ``attained_accel_s``, ``accelerators``, ``need``,
    ``project``, ``job_id``, ``leaf`` (the fair-share leaf) and ``shape`` (an id of the job's
    (types, level, per_node) shape).
    """

    COLUMNS = ("accelerators", "need", "project", "job_id", "leaf", "shape")

    def __init__(self, capacity: int = 1024) -> None:
        self._slot_of: dict[int, int] = {}
        self._jobs: list[JobRequest | None] = []
        self._leaves: list[int] = []
        """The ``leaf`` column as a list (cheaper to read one at a time)."""
        self._free: list[int] = []
        self.submit_s: FloatArray = np.zeros(capacity)
        self.time_limit_s: FloatArray = np.zeros(capacity)
        self.attained_accel_s: FloatArray = np.zeros(capacity)
        self.alive: BoolArray = np.zeros(capacity, dtype=np.bool_)
        self.accelerators: IntArray = np.zeros(capacity, dtype=np.int64)
        self.need: IntArray = np.zeros(capacity, dtype=np.int64)
        self.project: IntArray = np.zeros(capacity, dtype=np.int64)
        self.job_id: IntArray = np.zeros(capacity, dtype=np.int64)
        self.leaf: IntArray = np.zeros(capacity, dtype=np.int64)
        self.shape: IntArray = np.zeros(capacity, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._slot_of

    def add(self, job: JobRequest, leaf: int, shape: int) -> None:
        """Queue ``job`` (its fair-share leaf and shape id already resolved)."""
        if job.job_id in self._slot_of:
            raise ConflictError(f"job {job.job_id} is already pending")
        slot = self._free.pop() if self._free else self._new_slot()
        self._slot_of[job.job_id] = slot
        self._jobs[slot] = job
        self._leaves[slot] = leaf
        self.submit_s[slot] = job.submit_s
        self.time_limit_s[slot] = job.time_limit_s
        self.attained_accel_s[slot] = job.attained_accel_s
        self.alive[slot] = True
        self.accelerators[slot] = job.accelerators
        self.need[slot] = job.need
        self.project[slot] = job.project
        self.job_id[slot] = job.job_id
        self.leaf[slot] = leaf
        self.shape[slot] = shape

    def _new_slot(self) -> int:
        slot = len(self._jobs)
        self._jobs.append(None)
        self._leaves.append(0)
        if slot >= self.alive.size:
            size = 2 * self.alive.size
            for name in ("submit_s", "time_limit_s", "attained_accel_s", "alive", *self.COLUMNS):
                setattr(self, name, _grow(getattr(self, name), size))
        return slot

    def remove(self, job_id: int) -> JobRequest:
        """Take ``job_id`` out of the queue and return it."""
        slot = self._slot_of.pop(job_id, None)
        if slot is None:
            raise NotFoundError(f"job {job_id} is not pending")
        job = self._jobs[slot]
        assert job is not None
        self._jobs[slot] = None
        self.alive[slot] = False
        self._free.append(slot)
        return job

    def leaf_of(self, job_id: int) -> int:
        """The fair-share leaf pending ``job_id`` was queued with."""
        slot = self._slot_of.get(job_id)
        if slot is None:
            raise NotFoundError(f"job {job_id} is not pending")
        return self._leaves[slot]

    def slots(self) -> IntArray:
        """Slots holding a pending job."""
        return np.flatnonzero(self.alive[: len(self._jobs)])

    def slot_of(self, job_id: int) -> int:
        """The slot of pending ``job_id``."""
        slot = self._slot_of.get(job_id)
        if slot is None:
            raise NotFoundError(f"job {job_id} is not pending")
        return slot

    def job(self, slot: int) -> JobRequest:
        """The job in ``slot``."""
        job = self._jobs[slot]
        assert job is not None
        return job

    def jobs_at(self, slots: list[int]) -> list[JobRequest]:
        """The jobs in ``slots`` (each must hold one), in that order."""
        jobs = self._jobs
        out = [job for slot in slots if (job := jobs[slot]) is not None]
        assert len(out) == len(slots), "a slot without a pending job"
        return out

    def jobs(self) -> list[JobRequest]:
        """All pending jobs (unordered)."""
        return [j for j in self._jobs if j is not None]


@dataclass(frozen=True)
class RunningJob:
    """A started job: its request, start time, allocation and type, fair-share leaf, rate."""

    job: JobRequest
    start_s: float
    allocation: Allocation
    type_code: int
    leaf: int
    rate: float
    backfilled: bool = False

    def __init__(
        self,
        job: JobRequest,
        start_s: float,
        allocation: Allocation,
        type_code: int,
        leaf: int,
        rate: float,
        backfilled: bool = False,
    ) -> None:
        if NATIVE:
            set_native(
                self,
                job=job,
                start_s=start_s,
                allocation=allocation,
                type_code=type_code,
                leaf=leaf,
                rate=rate,
                backfilled=backfilled,
            )
            return
        # one per started job: writing the fields directly skips the frozen class's
        # object.__setattr__ per field (the instance stays frozen)
        d = self.__dict__
        d["job"], d["start_s"], d["allocation"] = job, start_s, allocation
        d["type_code"], d["leaf"], d["rate"] = type_code, leaf, rate
        d["backfilled"] = backfilled

    @property
    def expected_end_s(self) -> float:
        """When its time limit runs out."""
        return self.start_s + self.job.time_limit_s


@dataclass
class RunningTable:
    """Running jobs, plus one flat entry per (job, node) for vectorised release forecasts.

    The first entry of each job (its *head*) also carries per-job columns (fair-share leaf,
    start, charge rate, accelerators, preemptible, checkpoint interval, attained service), so
    that preemption finds its candidate victims with vector operations. Entries are appended
    in start order and compaction keeps their order, so the heads of the live jobs
    (:meth:`live_jobs`) come in the order of ``jobs`` (a dict, in insertion order).
    """

    jobs: dict[int, RunningJob] = field(default_factory=dict)
    node: IntArray = field(default_factory=lambda: np.zeros(1024, dtype=np.int64))
    count: IntArray = field(default_factory=lambda: np.zeros(1024, dtype=np.int64))
    end_s: FloatArray = field(default_factory=lambda: np.zeros(1024))
    job_id: IntArray = field(default_factory=lambda: np.zeros(1024, dtype=np.int64))
    head: BoolArray = field(default_factory=lambda: np.zeros(1024, dtype=np.bool_))
    """True at the first entry of a job; the columns below are meaningful there only, and
    only after :meth:`live_jobs` (which writes those of the jobs added since)."""
    leaf: IntArray = field(default_factory=lambda: np.zeros(1024, dtype=np.int64))
    start_s: FloatArray = field(default_factory=lambda: np.zeros(1024))
    rate: FloatArray = field(default_factory=lambda: np.zeros(1024))
    accelerators: IntArray = field(default_factory=lambda: np.zeros(1024, dtype=np.int64))
    preemptible: BoolArray = field(default_factory=lambda: np.zeros(1024, dtype=np.bool_))
    checkpoint_s: FloatArray = field(default_factory=lambda: np.zeros(1024))
    """The job's checkpoint interval (0: none)."""
    attained_accel_s: FloatArray = field(default_factory=lambda: np.zeros(1024))
    _first: dict[int, int] = field(default_factory=dict)
    _staged: list[tuple[int, int, float, float, int, bool, float, float]] = field(
        default_factory=list
    )
    """Per-job columns of jobs added since the last :meth:`_write_heads`, by head entry."""
    _used: int = 0
    _dead: int = 0
    _by_end: IntArray | None = None
    """Entries ``0 .. _by_end_upto`` ordered by (expected end, entry), dead ones included."""
    _by_end_upto: int = 0

    COLUMNS = (
        "node",
        "count",
        "end_s",
        "job_id",
        "head",
        "leaf",
        "start_s",
        "rate",
        "accelerators",
        "preemptible",
        "checkpoint_s",
        "attained_accel_s",
    )

    def add(self, run: RunningJob) -> None:
        """Record a started job."""
        job = run.job
        job_id = job.job_id
        if job_id in self.jobs:
            raise ConflictError(f"job {job_id} is already running")
        alloc = run.allocation
        k = len(alloc.nodes)
        if self._used + k > self.node.size:
            self._reserve(self._used + k)
        a, b = self._used, self._used + k
        end_s = run.start_s + job.time_limit_s  # run.expected_end_s
        if k == 1:
            self.node[a], self.count[a] = alloc.nodes[0], alloc.counts[0]
            self.end_s[a], self.job_id[a] = end_s, job_id
        else:
            self.node[a:b] = alloc.nodes
            self.count[a:b] = alloc.counts
            self.end_s[a:b] = end_s
            self.job_id[a:b] = job_id
        # the per-job columns are written in bulk when read (see _write_heads)
        self._staged.append(
            (
                a,
                run.leaf,
                run.start_s,
                run.rate,
                job.accelerators,
                job.preemptible,
                job.checkpoint_interval_s or 0.0,
                job.attained_accel_s,
            )
        )
        self.jobs[job_id] = run
        self._first[job_id] = a
        self._used = b

    def _reserve(self, need: int) -> None:
        size = max(need, 2 * self.node.size)
        for name in self.COLUMNS:
            setattr(self, name, _grow(getattr(self, name), size))

    def remove(self, job_id: int) -> RunningJob:
        """Forget a finished, failed or preempted job and return it."""
        run = self.jobs.pop(job_id, None)
        if run is None:
            raise NotFoundError(f"job {job_id} is not running")
        a = self._first.pop(job_id)
        k = len(run.allocation.nodes)
        if k == 1:
            self.count[a] = 0
        else:
            self.count[a : a + k] = 0
        self._dead += k
        if self._dead > 4096 and self._dead > self._used // 2:
            self._compact()
        return run

    def _write_heads(self) -> None:
        """Write the staged per-job columns (one vector assignment per column, not eight
        scalar ones per started job)."""
        staged = self._staged
        if not staged:
            return
        at, leaf, start, rate, acc, preemptible, checkpoint, attained = zip(*staged, strict=True)
        staged.clear()
        heads = np.array(at, dtype=np.int64)
        self.head[heads] = True
        self.leaf[heads] = leaf
        self.start_s[heads] = start
        self.rate[heads] = rate
        self.accelerators[heads] = acc
        self.preemptible[heads] = preemptible
        self.checkpoint_s[heads] = checkpoint
        self.attained_accel_s[heads] = attained

    def _compact(self) -> None:
        self._write_heads()
        used = self._used
        live = np.flatnonzero(self.count[:used] > 0)
        for name in self.COLUMNS:
            arr = getattr(self, name)
            arr[: live.size] = arr[live]
        self.head[live.size : used] = False  # entries appended later start as non-heads
        self._used, self._dead = int(live.size), 0
        self._by_end = None
        ids = self.job_id[: self._used]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if self._used else ids
        self._first = dict(zip(ids[starts].tolist(), starts.tolist(), strict=True))

    def entries(self) -> tuple[IntArray, IntArray, FloatArray]:
        """Live (node, count, expected end) entries; counts of finished jobs are zero."""
        u = self._used
        return self.node[:u], self.count[:u], self.end_s[:u]

    def live_jobs(self) -> IntArray:
        """The head entry of every running job, in the order of ``jobs`` (start order)."""
        self._write_heads()
        u = self._used
        return np.flatnonzero(self.head[:u] & (self.count[:u] > 0))

    def head_of(self, job_id: int) -> int | None:
        """The head entry of running ``job_id`` (None when it is not running)."""
        return self._first.get(job_id)

    def by_end(self) -> IntArray:
        """Live entries ordered by expected end, ties by entry (a stable argsort of the live
        ends), kept from call to call: entries added since are sorted and merged in."""
        u, count, end = self._used, self.count, self.end_s
        if self._by_end is None:
            live = np.flatnonzero(count[:u] > 0)
            order: IntArray = live[np.argsort(end[live], kind="stable")]
        else:
            keep = self._by_end[count[self._by_end] > 0]
            new = np.arange(self._by_end_upto, u)
            new = new[count[new] > 0]
            if new.size:
                new = new[np.argsort(end[new], kind="stable")]
                at = np.searchsorted(end[keep], end[new], side="right")
                order = np.insert(keep, at, new)
            else:
                order = keep
        self._by_end, self._by_end_upto = order, u
        return order

    def jobs_on(self, node: int) -> list[int]:
        """Ids of the running jobs that hold accelerators on ``node``."""
        u = self._used
        hit = (self.node[:u] == node) & (self.count[:u] > 0)
        return sorted(set(self.job_id[:u][hit].tolist()))
