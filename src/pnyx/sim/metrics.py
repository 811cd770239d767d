"""Scheduler metrics from run segments, one definition for every policy (DESIGN section 8).

Input: one row per run segment, ``job, member, accelerators, submit_s, start_s, end_s,
outcome`` (times in seconds from the window start), the capacity, the window length and the
members' enacted shares. Choices the design leaves open, fixed here:

- daily buckets cover the submission window ``[0, window_s)``; a last partial day counts with
  its own length (its capacity is ``capacity x its length``);
- a job *waits* between its submission and its first start, and between the end of a
  preempted or failed segment and its next start (intervals of zero length are no wait);
- ``jain_index`` is Jain's fairness index over members of ``delivered / entitled``, each summed
  over the member-days counted for the share deviation (members with no entitlement there are
  left out; 1.0 when none is counted);
- ``delivered_share``: the member's accelerator-seconds inside the window over everyone's;
- bounded slowdown: ``max(1, JCT / max(run time, 10 s))``, run time = all its segments;
- large jobs: >= 64 accelerators; empty groups report zeros with ``count`` 0.

The entitlement uses :func:`pnyx.sched.priority.water_fill`, the same division the ``pnyx``
policy's preemption judges by.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pnyx.sched.facility import BoolArray, FloatArray, IntArray
from pnyx.sched.priority import water_fill

DAY_S = 86_400.0
LARGE_JOB = 64
SLOWDOWN_FLOOR_S = 10.0


@dataclass(frozen=True)
class SegmentTable:
    """Run segments as parallel arrays (outcome codes: 0 completed, 1 preempted, 2 failed)."""

    job: IntArray
    member: IntArray
    accelerators: IntArray
    submit_s: FloatArray
    start_s: FloatArray
    end_s: FloatArray
    outcome: IntArray


def summary(values: FloatArray, keys: tuple[str, ...] = ("mean", "p50", "p99")) -> dict[str, Any]:
    """Mean and percentiles of ``values`` (zeros when empty)."""
    out: dict[str, Any] = {}
    for key in keys:
        if not values.size:
            out[key] = 0.0
        elif key == "mean":
            out[key] = float(values.mean())
        else:
            out[key] = float(np.percentile(values, float(key[1:])))
    return out


def bucket_bounds(window_s: float) -> FloatArray:
    """Day boundaries from 0 to ``window_s`` (the last day may be partial)."""
    days = max(1, math.ceil(window_s / DAY_S))
    out: FloatArray = np.minimum(np.arange(days + 1) * DAY_S, window_s)
    return out


def per_bucket(
    member: IntArray, weight: FloatArray, a: FloatArray, b: FloatArray, bounds: FloatArray, n: int
) -> FloatArray:
    """``sum(weight x |[a, b) & bucket|)`` per (member, bucket): shape (n, buckets)."""
    out = np.zeros((n, bounds.size - 1))
    for m in range(n):
        sel = member == m
        cum = _ramp(a[sel], weight[sel], bounds) - _ramp(b[sel], weight[sel], bounds)
        out[m] = np.diff(cum)
    return out


def _ramp(t0: FloatArray, w: FloatArray, at: FloatArray) -> FloatArray:
    """``sum(w x max(0, t - t0))`` at each ``t`` of ``at``."""
    order = np.argsort(t0, kind="stable")
    t0, w = t0[order], w[order]
    cw = np.concatenate([[0.0], np.cumsum(w)])
    cwt = np.concatenate([[0.0], np.cumsum(w * t0)])
    k = np.searchsorted(t0, at, side="right")
    result: FloatArray = cw[k] * at - cwt[k]
    return result


def waiting_days(seg: SegmentTable, bounds: FloatArray, n: int) -> BoolArray:
    """(member, bucket): did one of the member's jobs wait at some moment in the bucket?"""
    order = np.lexsort((seg.start_s, seg.job))
    job, start = seg.job[order], seg.start_s[order]
    prev_end = np.concatenate([[0.0], seg.end_s[order][:-1]])
    first = np.concatenate([[True], job[1:] != job[:-1]])
    a = np.where(first, seg.submit_s[order], prev_end)
    keep = (start > a) & (a < bounds[-1])
    a, b, member = a[keep], start[keep], seg.member[order][keep]
    days = bounds.size - 1
    lo = np.searchsorted(bounds, a, side="right") - 1
    hi = np.minimum(np.searchsorted(bounds, b, side="left"), days)
    marks = np.zeros((n, days + 1), dtype=np.int64)
    np.add.at(marks, (member, lo), 1)
    np.add.at(marks, (member, hi), -1)
    out: BoolArray = np.cumsum(marks, axis=1)[:, :days] > 0
    return out


def share_metrics(
    seg: SegmentTable, capacity: int, window_s: float, shares: FloatArray
) -> dict[str, Any]:
    """Share deviation (pp), Jain's index, and delivered share per member."""
    n, bounds = shares.size, bucket_bounds(window_s)
    final_end = _per_job(seg, seg.end_s, np.maximum)
    firsts = _first_rows(seg)
    demand = per_bucket(
        seg.member[firsts],
        seg.accelerators[firsts].astype(float),
        seg.submit_s[firsts],
        final_end,
        bounds,
        n,
    )
    acc = seg.accelerators.astype(float)
    delivered = per_bucket(seg.member, acc, seg.start_s, seg.end_s, bounds, n)
    room = capacity * np.diff(bounds)
    entitled = np.stack(
        [water_fill(room[d], demand[:, d], shares) for d in range(room.size)], axis=1
    )
    counted = waiting_days(seg, bounds, n)
    deviation = (np.abs(entitled - delivered) / room * 100.0)[counted]
    return {
        "share_deviation_pp": {
            "max": float(deviation.max()) if deviation.size else 0.0,
            "mean": float(deviation.mean()) if deviation.size else 0.0,
        },
        "member_days": int(deviation.size),
        "jain_index": _jain(
            np.where(counted, delivered, 0).sum(1), np.where(counted, entitled, 0).sum(1)
        ),
        "delivered_share": (delivered.sum(1) / max(delivered.sum(), 1e-12)).tolist(),
    }


def _jain(delivered: FloatArray, entitled: FloatArray) -> float:
    ok = entitled > 0
    if not ok.any():
        return 1.0
    x = delivered[ok] / entitled[ok]
    denominator = float(ok.sum() * np.sum(x * x))
    return float(x.sum() ** 2 / denominator) if denominator > 0 else 0.0


def _first_rows(seg: SegmentTable) -> IntArray:
    """One row index per job (its earliest segment)."""
    order = np.lexsort((seg.start_s, seg.job))
    job = seg.job[order]
    first: IntArray = order[np.concatenate([[True], job[1:] != job[:-1]])]
    return first


def _per_job(seg: SegmentTable, values: FloatArray, op: np.ufunc) -> FloatArray:
    """``op``-reduce ``values`` per job, in the order of :func:`_first_rows`."""
    order = np.lexsort((seg.start_s, seg.job))
    job = seg.job[order]
    starts = np.flatnonzero(np.concatenate([[True], job[1:] != job[:-1]]))
    out: FloatArray = op.reduceat(values[order], starts)
    return out


def job_metrics(seg: SegmentTable) -> dict[str, Any]:
    """Wait, JCT, large-job wait and bounded slowdown."""
    firsts = _first_rows(seg)
    submit, acc = seg.submit_s[firsts], seg.accelerators[firsts]
    wait = _per_job(seg, seg.start_s, np.minimum) - submit
    jct = _per_job(seg, seg.end_s, np.maximum) - submit
    run = _per_job(seg, seg.end_s - seg.start_s, np.add)
    slowdown = np.maximum(1.0, jct / np.maximum(run, SLOWDOWN_FLOOR_S))
    large = acc >= LARGE_JOB
    return {
        "wait_s": summary(wait),
        "jct_s": summary(jct),
        "large_jobs_wait_s": {**summary(wait[large], ("mean", "p99")), "count": int(large.sum())},
        "bounded_slowdown": summary(slowdown, ("mean", "p99")),
    }


def utilisation(seg: SegmentTable, capacity: int, window_s: float) -> float:
    """Accelerator-seconds run inside the window / (capacity x window)."""
    inside = np.minimum(seg.end_s, window_s) - np.minimum(seg.start_s, window_s)
    return float(np.sum(seg.accelerators * inside) / (capacity * window_s))


def compute_metrics(
    seg: SegmentTable,
    capacity: int,
    window_s: float,
    shares: FloatArray,
    lost_accel_s: float,
) -> dict[str, Any]:
    """Every metric of DESIGN section 8 (shares: enacted, one per member, summing to 1)."""
    if not seg.job.size:
        raise ValueError("no run segments: nothing ran")
    delivered = float(np.sum(seg.accelerators * (seg.end_s - seg.start_s)))
    return {
        "utilisation": utilisation(seg, capacity, window_s),
        **job_metrics(seg),
        **share_metrics(seg, capacity, window_s, shares),
        "lost_work_pct": 100.0 * lost_accel_s / delivered if delivered > 0 else 0.0,
        "preempted_segments": int(np.sum(seg.outcome == 1)),
        "failed_segments": int(np.sum(seg.outcome == 2)),
    }
