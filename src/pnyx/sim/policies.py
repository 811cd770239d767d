"""The policies the simulator compares, all as configurations of the same scheduling core.

- ``pnyx``: multifactor priority with the Fair-Tree fair share (weights from the enacted
  shares, usage half-life 4 hours), EASY backfill, and checkpointed preemption for the blocked
  top job of a member below its share, judged by allocation (accelerators run now against
  the weighted max-min share among the members that want accelerators now, the entitlement
  of DESIGN section 8); victims are jobs of members above theirs; 300 s grace.
- ``fifo``: submission order, strictly: nothing starts past a blocked job.
- ``backfill``: submission order with EASY backfill (one reservation), what a default Slurm
  does.
- ``sjf``: shortest job first with known runtimes (an oracle bound): time limits are the true
  runtimes, ordered shortest first, with EASY backfill.
- ``las``: least attained service first (Tiresias-like), with EASY backfill: the top blocked
  job, while it has received less than one accelerator-hour, preempts (checkpointed, 300 s
  grace) the running jobs that have received at least that much, most served first; within
  a level, submission order.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pnyx.errors import InvalidInputError
from pnyx.sched import Judge, Ordering, PreemptionPolicy, PriorityWeights, SchedulerConfig


class Policy(StrEnum):
    """The policies ``pnyx sim run --policy`` accepts."""

    PNYX = "pnyx"
    FIFO = "fifo"
    BACKFILL = "backfill"
    SJF = "sjf"
    LAS = "las"


@dataclass(frozen=True)
class PolicySetup:
    """The core's configuration for a policy, and whether it knows the true runtimes."""

    config: SchedulerConfig
    exact_limits: bool = False
    """Time limits equal the runtimes (the oracle), whatever the over-estimate factor."""


def policy_setup(name: str) -> PolicySetup:
    """The setup of the policy called ``name``."""
    try:
        policy = Policy(name)
    except ValueError as e:
        known = ", ".join(p.value for p in Policy)
        raise InvalidInputError(f"unknown policy {name!r}: use one of {known}") from e
    if policy is Policy.PNYX:
        config = SchedulerConfig(
            weights=PriorityWeights(),
            half_life_s=4 * 3_600.0,
            preemption=PreemptionPolicy(
                grace_s=300.0, min_wait_s=600.0, min_gain_s=1_800.0, judge=Judge.ALLOCATION
            ),
        )
        return PolicySetup(config)
    if policy is Policy.FIFO:
        return PolicySetup(SchedulerConfig(ordering=Ordering.FIFO, backfill=False))
    if policy is Policy.BACKFILL:
        return PolicySetup(SchedulerConfig(ordering=Ordering.FIFO))
    if policy is Policy.SJF:
        return PolicySetup(SchedulerConfig(ordering=Ordering.SHORTEST), exact_limits=True)
    las = PreemptionPolicy(
        grace_s=300.0,
        min_wait_s=60.0,
        min_gain_s=600.0,
        judge=Judge.ATTAINED,
        attained_threshold_accel_s=3_600.0,
    )
    return PolicySetup(SchedulerConfig(ordering=Ordering.LEAST_ATTAINED, preemption=las))
