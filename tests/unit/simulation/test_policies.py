"""The simulator's policies are configurations of the one scheduling core."""

from __future__ import annotations

import pytest

from pnyx.errors import InvalidInputError
from pnyx.sched import Judge, Ordering
from pnyx.sim.policies import CHECKPOINT_EXIT_S, Policy, policy_setup


def test_pnyx_plans_per_member_by_entitlement_and_exits_at_the_checkpoint() -> None:
    config = policy_setup("pnyx").config
    policy = config.preemption
    assert policy is not None
    assert (policy.judge, policy.by_member) == (Judge.ENTITLEMENT, True)
    assert policy.exit_s == CHECKPOINT_EXIT_S < policy.grace_s
    assert config.ordering is Ordering.PRIORITY and config.weights.length > 0


def test_baselines_do_not_preempt_except_las() -> None:
    for name in ("fifo", "backfill", "sjf"):
        assert policy_setup(name).config.preemption is None
    las = policy_setup(Policy.LAS.value).config.preemption
    assert las is not None and las.judge is Judge.ATTAINED and las.exit_s is None
    assert policy_setup("sjf").exact_limits
    assert not policy_setup("fifo").config.backfill


def test_unknown_policy_names_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="pnyx, fifo"):
        policy_setup("slurm")
