"""What a share change would do: the same workload simulated under two sets of member shares.

The workload is a trace window mapped onto the facility's members: the trace's members
(Philly's virtual clusters) are ordered by their demand in the window (accelerator-seconds,
largest first; ties by name) and dealt to the facility's members (sorted by id) in turn:
cluster k goes to member k mod M. So every member gets jobs when there are at least as many
clusters as members, large clusters are spread, and the mapping depends on nothing but the
window. Both runs use the ``pnyx`` policy, the same seed and the same jobs; only the members'
Fair-Tree shares differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pnyx.errors import InvalidInputError
from pnyx.sim.metrics import SegmentTable, compute_metrics
from pnyx.sim.replay import ReplayConfig, simulate
from pnyx.sim.trace import Workload


@dataclass(frozen=True)
class MemberRun:
    """One member in one simulated run."""

    enacted_share: float
    delivered_share: float
    delivered_accel_hours: float
    mean_wait_s: float
    jobs: int


def map_members(work: Workload, members: Sequence[str]) -> tuple[Workload, dict[str, str]]:
    """``work`` with its trace members dealt to ``members`` (see the module doc); also the
    mapping trace member -> facility member."""
    if not members:
        raise InvalidInputError("the facility has no members to map the workload onto")
    names = sorted(members)
    demand = np.bincount(
        work.member, weights=work.runtime_s * work.accelerators, minlength=len(work.members)
    )
    order = sorted(range(len(work.members)), key=lambda i: (-float(demand[i]), work.members[i]))
    target = np.zeros(len(work.members), dtype=np.int64)
    for k, i in enumerate(order):
        target[i] = k % len(names)
    mapping = {work.members[i]: names[int(target[i])] for i in range(len(work.members))}
    return replace(work, member=target[work.member], members=tuple(names)), mapping


def run_shares(
    work: Workload, config: ReplayConfig, shares: Mapping[str, float]
) -> tuple[dict[str, Any], dict[str, MemberRun]]:
    """Simulate ``work`` with ``shares`` (member -> share; normalised; missing: 0). The
    overall figures (utilisation, wait) and each member's."""
    values = np.array([max(0.0, float(shares.get(m, 0.0))) for m in work.members])
    if not values.sum() > 0:
        values = np.ones(len(work.members))
    values = values / values.sum()
    seg, stats = simulate(work, config, values)
    metrics = compute_metrics(
        seg, config.accelerators, work.window_s, values, stats.preempted_lost_accel_s
    )
    hours = delivered_hours(seg, work.window_s, len(work.members))
    waits = first_waits(seg, len(work.members))
    jobs = np.bincount(work.member, minlength=len(work.members))
    total = float(hours.sum())
    per_member = {
        m: MemberRun(
            enacted_share=float(values[i]),
            delivered_share=float(hours[i] / total) if total > 0 else 0.0,
            delivered_accel_hours=float(hours[i]),
            mean_wait_s=float(waits[i]),
            jobs=int(jobs[i]),
        )
        for i, m in enumerate(work.members)
    }
    overall = {
        "utilisation": metrics["utilisation"],
        "mean_wait_s": metrics["wait_s"]["mean"],
        "share_deviation_pp": metrics["share_deviation_pp"],
        "lost_work_pct": metrics["lost_work_pct"],
    }
    return overall, per_member


def delivered_hours(seg: SegmentTable, window_s: float, n: int) -> np.ndarray:
    """Accelerator-hours each member ran inside ``[0, window_s)``."""
    inside = np.clip(seg.end_s, 0, window_s) - np.clip(seg.start_s, 0, window_s)
    out: np.ndarray = np.bincount(seg.member, weights=seg.accelerators * inside, minlength=n)
    return out / 3600.0


def first_waits(seg: SegmentTable, n: int) -> np.ndarray:
    """Each member's mean wait (first start - submit) over its jobs that ran."""
    order = np.lexsort((seg.start_s, seg.job))
    job = seg.job[order]
    first = order[np.concatenate([[True], job[1:] != job[:-1]])]
    wait = seg.start_s[first] - seg.submit_s[first]
    member = seg.member[first]
    count = np.bincount(member, minlength=n)
    total = np.bincount(member, weights=wait, minlength=n)
    out: np.ndarray = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return out
