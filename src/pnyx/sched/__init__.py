"""The scheduling core: capacity index, fair-share priority, placement, backfill, preemption.

Pure and fast, used by the scheduler worker and by the simulator alike: no I/O, no clock reads
(every call that depends on time takes ``now_s``), no imports from other pnyx layers except
:mod:`pnyx.errors`. Vocabulary (accelerator types, containment levels, members, projects)
arrives as plain integers. See docs/scheduler.md.
"""

from pnyx.sched.backfill import Reservation
from pnyx.sched.capacity import CapacityIndex
from pnyx.sched.facility import Facility, grid_facility
from pnyx.sched.jobs import Allocation, JobRequest, RunningJob
from pnyx.sched.placement import Placement, place
from pnyx.sched.preemption import (
    Judge,
    PreemptionPlan,
    PreemptionPolicy,
    execute,
    plan_preemption,
)
from pnyx.sched.priority import FairTree, Ordering, PriorityWeights, UsageTracker, decay
from pnyx.sched.scheduler import Carry, Decisions, release_pass, schedule_pass
from pnyx.sched.state import (
    Counters,
    Requeue,
    SchedulerConfig,
    SchedulerState,
    Start,
    requeued,
)

__all__ = [
    "Allocation",
    "CapacityIndex",
    "Carry",
    "Counters",
    "Decisions",
    "Facility",
    "FairTree",
    "JobRequest",
    "Judge",
    "Ordering",
    "Placement",
    "PreemptionPlan",
    "PreemptionPolicy",
    "PriorityWeights",
    "Requeue",
    "Reservation",
    "RunningJob",
    "SchedulerConfig",
    "SchedulerState",
    "Start",
    "UsageTracker",
    "decay",
    "execute",
    "grid_facility",
    "place",
    "plan_preemption",
    "release_pass",
    "requeued",
    "schedule_pass",
]
