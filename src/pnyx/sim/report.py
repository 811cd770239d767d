"""A simulator report: the ``sim run`` metrics with the series a report page plots.

``pnyx sim run ... --report-out DIR`` writes ``DIR/report.json``::

    {"format": 1, "name": DIR's name, "metrics": {the sim run --json document},
     "series": {
       "utilisation": {"bucket_s": B, "values": [busy fraction per bucket of B seconds]},
       "wait_histogram": {"edges_s": [...], "counts": [...]},
       "days": ["2017-11-14", ...],
       "members": {member: {"enacted_share": s, "delivered_share": [per day],
                            "entitled_share": [per day]}},
       "fragmentation": {"bucket_s": B, "free": [mean free accelerators after passes],
                         "unusable": [of those, mean no pending job could use]}}}

Utilisation buckets cover the submission window (B = one hour, or longer so that there are at
most 336 buckets); the wait histogram counts jobs by first wait (last bin open-ended);
per-day shares are the member's accelerator-seconds / everyone's that day (``None`` on a day
with nothing run) and its entitlement (DESIGN section 8: weighted max-min of the day's capacity
over the members' demand) / the day's capacity. The fragmentation series (when the run's
samples are given) averages, per utilisation bucket, the free accelerators left after each
pass and those no pending job could use (:mod:`pnyx.sched.fragmentation`).
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from pnyx.sched.facility import FloatArray
from pnyx.sched.priority import water_fill
from pnyx.sim.engine import Samples
from pnyx.sim.metrics import SegmentTable, bucket_bounds, per_bucket
from pnyx.sim.trace import Workload

FORMAT = 1
MAX_BUCKETS = 336
WAIT_EDGES_S = (0, 60, 600, 3_600, 4 * 3_600, 12 * 3_600, 86_400, 3 * 86_400)
REPORT_FILE = "report.json"


def _buckets(window_s: float) -> tuple[float, FloatArray]:
    """The bucket length (one hour or a multiple, at most MAX_BUCKETS) and the bounds."""
    bucket = max(3_600.0, math.ceil(window_s / MAX_BUCKETS / 3_600.0) * 3_600.0)
    n = max(1, math.ceil(window_s / bucket))
    bounds: FloatArray = np.minimum(np.arange(n + 1) * bucket, window_s)
    return bucket, bounds


def utilisation_series(seg: SegmentTable, capacity: int, window_s: float) -> dict[str, Any]:
    """Busy fraction of the capacity per bucket over ``[0, window_s)``."""
    bucket, bounds = _buckets(window_s)
    busy = per_bucket(
        np.zeros(seg.job.size, dtype=np.int64),
        seg.accelerators.astype(float),
        seg.start_s,
        seg.end_s,
        bounds,
        1,
    )[0]
    room = capacity * np.diff(bounds)
    values = np.where(room > 0, busy / np.maximum(room, 1e-12), 0.0)
    return {"bucket_s": bucket, "values": [round(float(v), 6) for v in values]}


def fragmentation_series(samples: Samples, window_s: float, end_s: float) -> dict[str, Any]:
    """Per utilisation bucket: mean free accelerators after passes, and those no pending job
    could use (each sample holds until the next; the last until ``end_s``)."""
    bucket, bounds = _buckets(window_s)
    at = np.frombuffer(samples.at_s, dtype=np.float64) if samples.at_s else np.zeros(0)
    until = np.append(at[1:], max(end_s, float(at[-1]))) if at.size else at
    zeros = np.zeros(at.size, dtype=np.int64)
    out: dict[str, Any] = {"bucket_s": bucket}
    for key, values in (("free", samples.free), ("unusable", samples.unusable)):
        weight = np.asarray(values, dtype=np.float64)
        total = per_bucket(zeros, weight, at, until, bounds, 1)[0]
        out[key] = [round(float(v), 3) for v in total / np.maximum(np.diff(bounds), 1e-12)]
    return out


def wait_histogram(seg: SegmentTable) -> dict[str, Any]:
    """Jobs counted by their first wait (first start - submit)."""
    order = np.lexsort((seg.start_s, seg.job))
    job = seg.job[order]
    first = order[np.concatenate([[True], job[1:] != job[:-1]])]
    wait = seg.start_s[first] - seg.submit_s[first]
    edges = np.array([*WAIT_EDGES_S, np.inf])
    counts, _ = np.histogram(wait, bins=edges)
    return {"edges_s": list(WAIT_EDGES_S), "counts": [int(c) for c in counts]}


def member_days(
    seg: SegmentTable, work: Workload, capacity: int, shares: np.ndarray
) -> tuple[list[str], dict[str, Any]]:
    """Day labels, and per member its enacted share and per-day delivered and entitled share."""
    n, bounds = len(work.members), bucket_bounds(work.window_s)
    acc = seg.accelerators.astype(float)
    delivered = per_bucket(seg.member, acc, seg.start_s, seg.end_s, bounds, n)
    order = np.lexsort((seg.start_s, seg.job))
    job = seg.job[order]
    starts = np.flatnonzero(np.concatenate([[True], job[1:] != job[:-1]]))
    first = order[starts]
    final_end = np.maximum.reduceat(seg.end_s[order], starts)
    demand = per_bucket(seg.member[first], acc[first], seg.submit_s[first], final_end, bounds, n)
    room = capacity * np.diff(bounds)
    entitled = np.stack(
        [water_fill(room[d], demand[:, d], shares) for d in range(room.size)], axis=1
    )
    total = delivered.sum(0)
    days = [(work.start + timedelta(days=d)).date().isoformat() for d in range(room.size)]
    members = {
        m: {
            "enacted_share": float(shares[i]),
            "delivered_share": [
                round(float(delivered[i, d] / total[d]), 6) if total[d] > 0 else None
                for d in range(room.size)
            ],
            "entitled_share": [round(float(entitled[i, d] / room[d]), 6) for d in range(room.size)],
        }
        for i, m in enumerate(work.members)
    }
    return days, members


def build_report(
    name: str,
    metrics: dict[str, Any],
    seg: SegmentTable,
    work: Workload,
    capacity: int,
    shares: np.ndarray,
    samples: Samples | None = None,
) -> dict[str, Any]:
    """The whole report document (with the fragmentation series when ``samples`` are given)."""
    days, members = member_days(seg, work, capacity, shares)
    series: dict[str, Any] = {
        "utilisation": utilisation_series(seg, capacity, work.window_s),
        "wait_histogram": wait_histogram(seg),
        "days": days,
        "members": members,
    }
    if samples is not None:
        end = float(seg.end_s.max()) if seg.end_s.size else work.window_s
        series["fragmentation"] = fragmentation_series(samples, work.window_s, end)
    return {
        "format": FORMAT,
        "name": name,
        "metrics": metrics,
        "series": series,
    }


def write_report(directory: Path, report: dict[str, Any]) -> Path:
    """Write ``report`` as ``directory/report.json`` (creating the directory)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / REPORT_FILE
    path.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path
