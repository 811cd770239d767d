"""What-if of a share resolution: static share arithmetic, and the simulator on a workload.

**Before** is the shares in force now for an open (or failed) resolution, and the shares in
force just before it was enacted for a passed one; **after** is ``before`` with the
resolution's payload enacted.

- Static arithmetic (always): capacity (every accelerator x 24 h) x programme share x member
  share within the programme, before and after.
- Simulated (when a workload is available; :mod:`pnyx.sim.whatif`): a trace window mapped
  onto the facility's members is replayed twice under the ``pnyx`` policy, same seed, with
  each member's share of the facility (:func:`pnyx.services.share_history.member_targets`)
  before and after; per member the delivered share and mean wait before and after, per
  programme the delivered accelerator-hours (each member's split among its programmes in the
  ratio of ``programme share x member share``). Default workload: philly.csv, the jobs
  submitted 2017-11-14, load 1.5 on 128 accelerators (seconds to run). Results are cached in
  memory per (shares before, shares after, members, settings, trace file's mtime), so the
  portal computes each preview once per process. Without the trace file the simulated part
  is ``None`` and ``simulation_skipped`` says why.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pnyx.domain import council as dc
from pnyx.errors import InvalidInputError
from pnyx.services import council_read, identity, inventory
from pnyx.services import share_history as sh
from pnyx.services.context import ServiceContext
from pnyx.sim.replay import ReplayConfig
from pnyx.sim.trace import Trace, Workload, load_trace, scale_load, select_window
from pnyx.sim.whatif import map_members, run_shares

Split = Mapping[str, Mapping[str, float]]
DEFAULT_TRACE = Path(__file__).resolve().parents[3] / "examples" / "traces" / "philly.csv"
CACHE_SIZE = 32
MAX_ACCELERATORS = 1024
"""The preview is for a quick answer: larger facilities go through ``pnyx sim run``."""


@dataclass(frozen=True)
class PreviewSettings:
    """The workload the simulated preview replays."""

    trace: Path = DEFAULT_TRACE
    accelerators: int = 128
    start: datetime | None = datetime(2017, 11, 14)
    end: datetime | None = datetime(2017, 11, 15)
    load: float | None = 1.5
    seed: int = 0

    def __post_init__(self) -> None:
        if not 8 <= self.accelerators <= MAX_ACCELERATORS:
            raise InvalidInputError(
                f"--accelerators must be 8..{MAX_ACCELERATORS} for a preview"
                " (use pnyx sim run for larger facilities)"
            )

    def to_json(self) -> dict[str, Any]:
        """The settings as plain values."""
        return {
            "trace": str(self.trace),
            "accelerators": self.accelerators,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "load": self.load,
            "seed": self.seed,
            "policy": "pnyx",
        }


def preview_resolution(
    ctx: ServiceContext,
    resolution_id: str,
    settings: PreviewSettings | None = None,
    simulate: bool = True,
) -> dict[str, Any]:
    """Programme and member figures before and after enacting the resolution (a
    set-programme-shares or set-member-shares one): static, and simulated when asked."""
    res = council_read.get_resolution(ctx, resolution_id)
    kind = dc.parse_kind(res.kind)
    if kind not in sh.SHARE_KINDS:
        raise InvalidInputError("preview needs a set-programme-shares or set-member-shares one")
    before = _before(ctx, resolution_id, res.status)
    weights = council_read.current_weights(ctx, res.weights_version).model_dump()
    after = sh.apply(before, res.model_dump(), weights)
    facility = inventory.facility_summary(ctx)
    per_day = float(facility.accelerators * 24)
    out: dict[str, Any] = {
        "resolution_id": resolution_id,
        "kind": str(kind),
        "before_is": "shares before enactment" if res.status == "passed" else "shares in force",
        "capacity_accel_hours_per_day": per_day,
        "by_type_accel_hours_per_day": {k: v * 24 for k, v in sorted(facility.by_type.items())},
        "programmes": _diff(_hours(before.programmes, per_day), _hours(after.programmes, per_day)),
        "members": _diff(
            member_hours(before.programmes, before.members, per_day),
            member_hours(after.programmes, after.members, per_day),
        ),
        "simulated": None,
        "simulation_skipped": "not requested",
    }
    if simulate:
        settings = settings or PreviewSettings()
        members = tuple(sorted(m.member_id for m in identity.list_members(ctx, 0, 500).items))
        if not members:
            out["simulation_skipped"] = "the facility has no members"
        elif not settings.trace.is_file():
            out["simulation_skipped"] = f"no workload: trace {settings.trace} not found"
        else:
            out["simulated"] = simulated_preview(before, after, members, settings)
            out["simulation_skipped"] = None
    return out


def _before(ctx: ServiceContext, resolution_id: str, status: str) -> sh.ShareState:
    if status == dc.ResolutionStatus.PASSED:
        found = sh.state_before(sh.enactments(ctx), resolution_id)
        if found is not None:
            return found
    now = council_read.enacted_shares(ctx)
    return sh.ShareState(dict(now.programmes), {k: dict(v) for k, v in now.members.items()})


_cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_lock = threading.Lock()


def simulated_preview(
    before: sh.ShareState,
    after: sh.ShareState,
    members: tuple[str, ...],
    settings: PreviewSettings,
) -> dict[str, Any]:
    """The simulated what-if (cached in memory per shares, members and settings)."""
    key = (_key(before), _key(after), members, settings, settings.trace.stat().st_mtime_ns)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    result = _simulate(before, after, members, settings)
    with _lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _key(state: sh.ShareState) -> tuple[Any, ...]:
    split = tuple(sorted((p, tuple(sorted(s.items()))) for p, s in state.members.items()))
    return tuple(sorted(state.programmes.items())), split


def _simulate(
    before: sh.ShareState,
    after: sh.ShareState,
    members: tuple[str, ...],
    settings: PreviewSettings,
) -> dict[str, Any]:
    work, mapping = map_members(workload(settings), members)
    config = ReplayConfig(accelerators=settings.accelerators, policy="pnyx", seed=settings.seed)
    runs = []
    for state in (before, after):
        targets = sh.member_targets(state.programmes, state.members, members)
        runs.append((state, *run_shares(work, config, targets)))
    (s0, o0, m0), (s1, o1, m1) = runs
    return {
        "settings": settings.to_json(),
        "jobs": work.jobs,
        "offered_load": round(work.offered_load(settings.accelerators), 4),
        "mapping": mapping,
        "before": o0,
        "after": o1,
        "members": {
            m: {
                "jobs": m0[m].jobs,
                **{
                    field: {"before": getattr(m0[m], field), "after": getattr(m1[m], field)}
                    for field in (
                        "enacted_share",
                        "delivered_share",
                        "delivered_accel_hours",
                        "mean_wait_s",
                    )
                },
            }
            for m in members
        },
        "programmes": _diff(_programme_hours(s0, m0), _programme_hours(s1, m1)),
    }


def _programme_hours(state: sh.ShareState, runs: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    members = sorted(runs)
    for member, run in runs.items():
        weights = sh.programme_weights(state.programmes, state.members, member, members)
        for p, w in weights.items():
            out[p] = out.get(p, 0.0) + w * run.delivered_accel_hours
    return out


def workload(settings: PreviewSettings) -> Workload:
    """The settings' trace window (rescaled to ``load`` when given)."""
    stamp = settings.trace.stat().st_mtime_ns
    work = select_window(_trace(settings.trace, stamp), settings.start, settings.end)
    if settings.load is not None:
        work = scale_load(work, settings.load, settings.accelerators, settings.seed)
    return work


@lru_cache(maxsize=2)
def _trace(path: Path, _mtime_ns: int) -> Trace:
    return load_trace(path)


def member_hours(programmes: Mapping[str, float], split: Split, per_day: float) -> dict[str, float]:
    """Each member's hours per day: sum over programmes of programme share x member share."""
    out: dict[str, float] = {}
    for pid, share in programmes.items():
        for member, member_share in split.get(pid, {}).items():
            out[member] = out.get(member, 0.0) + per_day * share * member_share
    return out


def _hours(shares: Mapping[str, float], per_day: float) -> dict[str, float]:
    return {k: per_day * v for k, v in shares.items()}


def _diff(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, dict[str, float]]:
    keys = sorted(set(before) | set(after))
    return {
        k: {
            "before": round(before.get(k, 0.0), 3),
            "after": round(after.get(k, 0.0), 3),
            "change": round(after.get(k, 0.0) - before.get(k, 0.0), 3),
        }
        for k in keys
    }
