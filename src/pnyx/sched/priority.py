"""Multifactor priority with a Fair-Tree fair-share factor, vectorised over the pending queue.

Fair share (after Slurm's *Fair Tree* algorithm, described from memory of its documentation,
slurm.schedmd.com/fair_tree.html): accounts form a tree, here member > programme > project >
user. At every level each association gets a *Level Fairshare*

    LF = S / U,   S = shares_self / sum(shares of self and siblings),
                  U = usage_self  / sum(usage of self and siblings)

(usage of an inner association = the sum over its leaves; U = 0 gives LF = +inf when S > 0,
LF = 0 when S = 0). Slurm then walks the tree depth first, visiting siblings in decreasing LF,
and numbers the users in the order it meets them; a user's fair-share factor is
``rank / user_count`` (1.0 for the first). The consequence Fair Tree is designed for: if an
account is under-served relative to a sibling (higher LF), *every* user below it ranks above
every user below the sibling, whatever happens further down.

Here the depth-first walk is a lexicographic sort of each user's vector ``(LF_member,
LF_programme, LF_project, LF_user)`` in decreasing order, which is exactly the visiting order;
siblings with equal LF are compared by their children's LF (their subtrees are merged), and
users with equal vectors share the best rank of their group. Shares are the targets (enacted
programme shares, awards: just numbers here); a path prefix without a given share gets
``default_share``.

Usage decays exponentially with a half-life: ``decay(u, dt, h) = u * 2**(-dt/h)``. Running jobs
charge their accelerators (times a billing weight per type) continuously; over an interval of
constant rate ``r`` the decayed integral is added exactly: ``u' = u * a + r * (1 - a) / lam``
with ``a = 2**(-dt/h)``, ``lam = ln 2 / h``.

Multifactor priority (Slurm's priority/multifactor, without QOS and partition terms yet)::

    priority = w_fs * F_fs + w_age * min(age / max_age, 1) + w_size * F_size
               + w_length * min(time limit / max_age, 1)

with ``F_size = accelerators / facility accelerators`` (or ``1 - that`` when favouring small
jobs); the length term (0 by default) starts long jobs first among equals, so less of their
work is left for the end. Ties go to the earlier submission, then the lower job id. Pure:
no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from pnyx.errors import InvalidInputError
from pnyx.sched.facility import FloatArray, IntArray

LEVELS = ("member", "programme", "project", "user")
Path = tuple[int, int, int, int]


class Ordering(StrEnum):
    """How a pass orders the pending queue (the baselines the simulator compares with).

    ``priority``: the multifactor priority below. ``fifo``: submission order. ``shortest``:
    shortest time limit first (an oracle when the limits are the true runtimes).
    ``least_attained``: least service received first (accelerator-seconds run before a
    requeue, Tiresias-like LAS), then submission order. Ties always go to the earlier
    submission, then the lower job id.
    """

    PRIORITY = "priority"
    FIFO = "fifo"
    SHORTEST = "shortest"
    LEAST_ATTAINED = "least_attained"


def decay(usage: FloatArray | float, dt_s: float, half_life_s: float) -> FloatArray:
    """``usage`` after ``dt_s`` seconds of exponential decay with half-life ``half_life_s``."""
    if dt_s < 0 or not half_life_s > 0:
        raise InvalidInputError(
            f"decay: need dt_s >= 0 and half_life_s > 0, got {dt_s}, {half_life_s}"
        )
    factor: float = 0.5 ** (dt_s / half_life_s)
    return np.asarray(usage, dtype=np.float64) * factor


@dataclass(frozen=True)
class PriorityWeights:
    """Weights of the multifactor priority (Slurm's PriorityWeight* settings)."""

    fair_share: float = 10_000.0
    age: float = 1_000.0
    size: float = 1_000.0
    max_age_s: float = 7 * 86_400.0
    favor_small: bool = False
    length: float = 0.0
    """Weight of the time-limit factor ``min(time limit / max_age_s, 1)``: longer jobs first
    (with the age weight, a job's length counts like the same time waited)."""

    def __post_init__(self) -> None:
        if min(self.fair_share, self.age, self.size, self.length) < 0:
            raise InvalidInputError("priority weights must be >= 0")
        if not self.max_age_s > 0:
            raise InvalidInputError("max_age_s must be > 0 (e.g. 604800 for one week)")


class FairTree:
    """The association tree member > programme > project > user, with shares per node."""

    def __init__(
        self, shares: Mapping[tuple[int, ...], float] | None = None, default_share: float = 1.0
    ) -> None:
        if default_share < 0:
            raise InvalidInputError("default_share must be >= 0")
        self.default_share = default_share
        self._shares: dict[tuple[int, ...], float] = {}
        self._ids: list[dict[tuple[int, ...], int]] = [{} for _ in LEVELS]
        self._parent: list[list[int]] = [[] for _ in LEVELS]
        self._leaf_nodes: list[list[int]] = []
        self._cache: tuple[list[IntArray], list[IntArray], list[FloatArray]] | None = None
        self.set_shares(shares or {})

    def __len__(self) -> int:
        return len(self._leaf_nodes)

    def set_shares(self, shares: Mapping[tuple[int, ...], float]) -> None:
        """Replace the targets: ``{(member,): s, (member, programme): s, ...}``."""
        for path, value in shares.items():
            if not 1 <= len(path) <= len(LEVELS) or value < 0:
                raise InvalidInputError(f"share {path!r}: need a path of 1..4 ids and a share >= 0")
        self._shares = dict(shares)
        self._cache = None

    def leaf(self, path: Path) -> int:
        """The leaf index of a user path, registering it on first sight."""
        ids = self._ids[-1]
        found = ids.get(path)
        if found is not None:
            return found
        nodes, parent = [], 0
        for level in range(len(LEVELS)):
            prefix = path[: level + 1]
            node = self._ids[level].get(prefix)
            if node is None:
                node = self._ids[level][prefix] = len(self._parent[level])
                self._parent[level].append(parent)
            nodes.append(node)
            parent = node
        self._leaf_nodes.append(nodes)
        self._cache = None
        return nodes[-1]

    def _arrays(self) -> tuple[list[IntArray], list[IntArray], list[FloatArray]]:
        if self._cache is None:
            leaf_nodes = np.asarray(self._leaf_nodes, dtype=np.int64).reshape(-1, len(LEVELS))
            node_of_leaf = [leaf_nodes[:, lv].copy() for lv in range(len(LEVELS))]
            parents = [np.asarray(p, dtype=np.int64) for p in self._parent]
            shares = [
                np.asarray(
                    [self._shares.get(prefix, self.default_share) for prefix in ids], dtype=float
                )
                for ids in self._ids
            ]
            self._cache = (node_of_leaf, parents, shares)
        return self._cache

    def members(self) -> tuple[IntArray, FloatArray]:
        """The member index of every leaf, and every member's share."""
        node_of_leaf, _, shares = self._arrays()
        return node_of_leaf[0], shares[0]

    def level_fairshare(self, usage: FloatArray) -> FloatArray:
        """LF of each leaf's association at every level: shape (leaves, 4)."""
        node_of_leaf, parents, shares = self._arrays()
        n = len(self._leaf_nodes)
        out = np.empty((n, len(LEVELS)))
        for lv in range(len(LEVELS)):
            nid, par, s = node_of_leaf[lv], parents[lv], shares[lv]
            u = np.bincount(nid, weights=usage[:n], minlength=par.size).astype(np.float64)
            s_norm = _normalise(s, par)
            u_norm = _normalise(u, par)
            with np.errstate(divide="ignore", invalid="ignore"):
                lf = np.where(u_norm > 0, s_norm / u_norm, np.where(s_norm > 0, np.inf, 0.0))
            out[:, lv] = lf[nid]
        return out

    def factors(self, usage: FloatArray) -> FloatArray:
        """Fair-share factor of every leaf in (0, 1]: its Fair Tree rank / number of users."""
        n = len(self._leaf_nodes)
        if n == 0:
            return np.zeros(0)
        lf = self.level_fairshare(usage)
        order = np.lexsort([-lf[:, lv] for lv in reversed(range(len(LEVELS)))])
        ranked = lf[order]
        new_group = np.ones(n, dtype=np.bool_)
        new_group[1:] = np.any(ranked[1:] != ranked[:-1], axis=1)
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
        out = np.empty(n)
        out[order] = (n - group_start) / n
        return out


def water_fill(capacity: float, demand: FloatArray, weight: FloatArray) -> FloatArray:
    """Weighted max-min fair division of ``capacity`` over ``demand`` (nobody gets more than it
    demands); members with zero weight share only what every weighted member left over."""
    out = np.zeros(demand.size)
    left = float(capacity)
    active = demand > 0
    for w in (np.where(weight > 0, weight, 0.0), np.where(weight > 0, 0.0, 1.0)):
        act = active & (w > 0)
        while act.any() and left > 1e-9 * max(capacity, 1.0):
            give = left * w / w[act].sum()
            done = act & (out + give >= demand)
            if not done.any():
                out[act] += give[act]
                left = 0.0
                break
            left -= float((demand[done] - out[done]).sum())
            out[done] = demand[done]
            act &= ~done
        active &= out < demand
    return out


def _normalise(values: FloatArray, parent: IntArray) -> FloatArray:
    """Each value over the sum of its siblings' (0 where the siblings sum to 0)."""
    sums = np.bincount(parent, weights=values)[parent]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sums > 0, values / sums, 0.0)


class UsageTracker:
    """Decayed usage per fair-share leaf, with the charge rate of each leaf's running jobs.

    ``usage``, ``rate``, ``waiting`` and ``demand`` read as float arrays of at least one entry
    per leaf (writes into them are kept). Inside, they are plain lists over the leaves seen
    so far, so that :meth:`advance`, which runs at every distinct event time, costs two short
    list comprehensions rather than a dozen array operations; each element follows the same
    floating-point operations as the array expressions ``usage * a + rate * c`` and
    ``demand * a + (rate + waiting) * c`` would.
    """

    def __init__(self, half_life_s: float, now_s: float = 0.0) -> None:
        if not half_life_s > 0:
            raise InvalidInputError("half_life_s must be > 0 (e.g. 604800 for one week)")
        self.half_life_s = half_life_s
        self.now_s = now_s
        self._size = 64
        """Length of the arrays handed out (room for the leaves, doubled when short)."""
        self._u: list[float] = []
        self._r: list[float] = []
        self._w: list[float] = []
        self._d: list[float] = []
        self._out: dict[str, FloatArray] = {}
        """Arrays handed out since the lists last changed (callers may write into them)."""
        self.span_s = 0.0
        """Decayed integral of 1 over the same time: capacity x ``span_s`` is the decayed
        integral of the facility's capacity."""

    @property
    def usage(self) -> FloatArray:
        """Decayed usage (accelerator-seconds, billed) per leaf."""
        return self._array("_u")

    @property
    def rate(self) -> FloatArray:
        """What each leaf's running jobs charge per second now."""
        return self._array("_r")

    @property
    def waiting(self) -> FloatArray:
        """Accelerators each leaf has pending (set by the pass, see :meth:`set_waiting`)."""
        return self._array("_w")

    @property
    def demand(self) -> FloatArray:
        """Decayed integral of each leaf's demand: running (charged) + waiting accelerators."""
        return self._array("_d")

    def _array(self, name: str) -> FloatArray:
        out = self._out.get(name)
        if out is None:
            values: list[float] = getattr(self, name)
            out = np.zeros(self._size)
            out[: len(values)] = values
            self._out[name] = out
        return out

    def _absorb(self) -> None:
        """Take back what was written into the arrays handed out."""
        n = len(self._u)
        for arr in self._out.values():
            hit = np.flatnonzero(arr[n:])
            if hit.size:
                self._extend(n + int(hit[-1]) + 1)
                n = len(self._u)
        for name, arr in self._out.items():
            setattr(self, name, arr[:n].tolist())
        self._out.clear()

    def _extend(self, leaves: int) -> None:
        more = [0.0] * (leaves - len(self._u))
        self._u += more
        self._r += more
        self._w += more
        self._d += more

    def ensure(self, leaves: int) -> None:
        """Make room for ``leaves`` leaves."""
        if leaves > len(self._u):
            if self._out:
                self._absorb()
            if leaves > self._size:
                self._size = max(leaves, 2 * self._size)
            self._extend(leaves)

    def set_waiting(self, waiting: FloatArray) -> None:
        """The accelerators each leaf has pending from now on (until the next call)."""
        self.ensure(waiting.size)
        if self._out:
            self._absorb()
        values = waiting.tolist()
        self._w = values + [0.0] * (len(self._u) - len(values))

    def advance(self, now_s: float) -> None:
        """Decay usage to ``now_s`` and add what running jobs used meanwhile."""
        dt = now_s - self.now_s
        if dt < 0:
            raise InvalidInputError(f"time went backwards: {now_s} < {self.now_s}")
        if dt == 0:
            return
        if self._out:
            self._absorb()
        a = 0.5 ** (dt / self.half_life_s)
        lam = math.log(2) / self.half_life_s
        c = (1 - a) / lam
        rate = self._r
        self._u = [u * a + r * c for u, r in zip(self._u, rate, strict=True)]
        self._d = [d * a + (r + w) * c for d, r, w in zip(self._d, rate, self._w, strict=True)]
        self.span_s = self.span_s * a + c
        self.now_s = now_s

    def add_rate(self, leaf: int, delta: float) -> None:
        """A job of ``leaf`` started (delta > 0) or stopped (delta < 0) charging."""
        rate = self._r
        if leaf >= len(rate) or self._out:
            self.ensure(leaf + 1)
            if self._out:
                self._absorb()
            rate = self._r
        value = rate[leaf] + delta
        rate[leaf] = value if value > 0.0 else 0.0  # max(0.0, value), without the call

    def charge(self, leaf: int, amount: float) -> None:
        """Add usage directly (e.g. from an accounting record)."""
        self.ensure(leaf + 1)
        if self._out:
            self._absorb()
        self._u[leaf] += amount


def priorities(
    weights: PriorityWeights,
    fair_share: FloatArray,
    submit_s: FloatArray,
    accelerators: IntArray,
    now_s: float,
    facility_accelerators: int,
    time_limit_s: FloatArray | None = None,
) -> FloatArray:
    """Multifactor priority of each job (arrays aligned per job; the length factor only when
    ``time_limit_s`` is given)."""
    age = np.clip((now_s - submit_s) / weights.max_age_s, 0.0, 1.0)
    size = np.minimum(accelerators / facility_accelerators, 1.0)
    if weights.favor_small:
        size = 1.0 - size
    out = weights.fair_share * fair_share + weights.age * age + weights.size * size
    if time_limit_s is not None and weights.length > 0:
        out = out + weights.length * np.minimum(time_limit_s / weights.max_age_s, 1.0)
    result: FloatArray = out
    return result


def rank(priority: FloatArray, submit_s: FloatArray, job_id: IntArray) -> IntArray:
    """Positions sorted by decreasing priority, then earlier submission, then lower id."""
    return np.lexsort((job_id, submit_s, -priority))


def rank_by(
    key: FloatArray, submit_s: FloatArray, job_id: IntArray, ascending: bool = True
) -> IntArray:
    """Positions sorted by ``key`` (ascending unless told), then submission, then id."""
    return np.lexsort((job_id, submit_s, key if ascending else -key))
