"""The policies the simulator compares, all as configurations of the same scheduling core.

- ``pnyx``: multifactor priority with the Fair-Tree fair share (weights from the enacted
  shares, usage half-life 4 hours) and a time-limit factor (long jobs first among equals),
  EASY backfill, and checkpointed preemption planned per member (``Judge.ENTITLEMENT``,
  ``by_member``): a member's decayed usage is compared with its weighted max-min share of the
  decayed capacity over every member's decayed demand (DESIGN section 8's entitlement,
  continuous); a member owed more than 1 % of the facility gets, in one plan, accelerators
  for its waiting jobs up to its gap (spread over 15 min), taken from the members most above
  theirs (jobs closest to their end first), never below theirs. Victims checkpoint on the
  signal and exit after ``CHECKPOINT_EXIT_S`` (grace 300 s). At release passes (engine
  ``release_passes``) it backfills around its carried reservations, as at a full pass
  (``release_bar`` off: see docs/benchmarks.md for what the bar costs and gives).
- ``fifo``: submission order, strictly: nothing starts past a blocked job.
- ``backfill``: submission order with EASY backfill (one reservation), what a default Slurm
  does. At release passes, every baseline does what Slurm's main scheduler does on a job's
  completion: start jobs in order, stop at the first that does not fit.
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

CHECKPOINT_EXIT_S = 60.0
"""Seconds a preempted job takes to write its checkpoint on the signal and exit (within the
300 s grace period); its accelerators are free from then, and those seconds are its lost work."""


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
            weights=PriorityWeights(length=1_000.0),
            half_life_s=4 * 3_600.0,
            preemption=PreemptionPolicy(
                grace_s=300.0,
                min_wait_s=600.0,
                min_gain_s=1_800.0,
                judge=Judge.ENTITLEMENT,
                by_member=True,
                tolerance=0.01,
                repay_s=900.0,
                exit_s=CHECKPOINT_EXIT_S,
            ),
            release_backfill=True,
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
