"""Fair Tree fair share, usage decay and the multifactor priority."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pnyx.errors import InvalidInputError
from pnyx.sched import FairTree, PriorityWeights, UsageTracker, decay
from pnyx.sched.priority import priorities, rank


def factors_of(
    tree: FairTree, usage_by_path: dict[tuple[int, int, int, int], float]
) -> dict[tuple[int, int, int, int], float]:
    leaves = {path: tree.leaf(path) for path in usage_by_path}
    usage = np.zeros(len(tree))
    for path, u in usage_by_path.items():
        usage[leaves[path]] = u
    f = tree.factors(usage)
    return {path: float(f[leaf]) for path, leaf in leaves.items()}


def test_under_served_member_ranks_first_whatever_happens_below() -> None:
    # Members 1 and 2 have equal shares; member 1 used more. Within member 1, user (1,1,1,1)
    # is idle, but every user of the under-served member 2 still ranks above it.
    tree = FairTree({(1,): 1.0, (2,): 1.0})
    f = factors_of(
        tree,
        {(1, 1, 1, 1): 0.0, (1, 1, 1, 2): 100.0, (2, 1, 1, 1): 10.0, (2, 1, 1, 2): 40.0},
    )
    assert min(f[(2, 1, 1, 1)], f[(2, 1, 1, 2)]) > max(f[(1, 1, 1, 1)], f[(1, 1, 1, 2)])
    assert f[(2, 1, 1, 1)] > f[(2, 1, 1, 2)]
    assert f[(1, 1, 1, 1)] > f[(1, 1, 1, 2)]
    assert max(f.values()) == 1.0


@pytest.mark.parametrize("level", [1, 2, 3])
def test_under_served_sibling_first_at_every_level(level: int) -> None:
    # Two siblings at ``level`` (programme, project or user), same parent, shares 3:1.
    # Usage 60:40 -> LF 1.25 vs 0.625: the first is under-served and ranks first.
    pa = (1, 1, 1, 1)
    ids = [2 if i == level else 1 for i in range(4)]
    pb = (ids[0], ids[1], ids[2], ids[3])
    tree = FairTree({pa[: level + 1]: 3.0, pb[: level + 1]: 1.0})
    f = factors_of(tree, {pa: 60.0, pb: 40.0})
    assert f[pa] > f[pb]
    lf = tree.level_fairshare(np.array([60.0, 40.0]))
    assert lf[0, level] == pytest.approx(0.75 / 0.6)
    assert lf[1, level] == pytest.approx(0.25 / 0.4)
    f = factors_of(FairTree({pa[: level + 1]: 1.0, pb[: level + 1]: 3.0}), {pa: 60.0, pb: 40.0})
    assert f[pb] > f[pa]


def test_zero_usage_is_infinitely_under_served_and_zero_share_last() -> None:
    tree = FairTree({(1,): 1.0, (2,): 1.0, (3,): 0.0})
    f = factors_of(tree, {(1, 0, 0, 0): 5.0, (2, 0, 0, 0): 0.0, (3, 0, 0, 0): 0.0})
    assert f[(2, 0, 0, 0)] == 1.0
    assert f[(1, 0, 0, 0)] > f[(3, 0, 0, 0)]


def test_ties_share_the_best_rank() -> None:
    tree = FairTree()
    f = factors_of(tree, {(1, 0, 0, 0): 0.0, (2, 0, 0, 0): 0.0, (3, 0, 0, 0): 7.0})
    assert f[(1, 0, 0, 0)] == f[(2, 0, 0, 0)] == 1.0
    assert f[(3, 0, 0, 0)] == pytest.approx(1 / 3)


def test_shares_reject_bad_paths() -> None:
    with pytest.raises(InvalidInputError):
        FairTree({(): 1.0})
    with pytest.raises(InvalidInputError):
        FairTree({(1,): -1.0})


def test_decay_halves_every_half_life_exactly() -> None:
    assert decay(100.0, 3600.0, 3600.0) == 50.0
    assert decay(100.0, 7200.0, 3600.0) == 25.0
    assert decay(100.0, 0.0, 3600.0) == 100.0
    assert np.array_equal(decay(np.array([8.0, 2.0]), 3 * 60.0, 60.0), [1.0, 0.25])
    with pytest.raises(InvalidInputError):
        decay(1.0, -1.0, 60.0)


def test_usage_tracker_integrates_a_constant_rate_exactly() -> None:
    h = 1000.0
    u = UsageTracker(half_life_s=h)
    u.ensure(1)
    u.add_rate(0, 8.0)
    u.advance(h)
    lam = math.log(2) / h
    assert u.usage[0] == pytest.approx(8.0 * 0.5 / lam)
    u.add_rate(0, -8.0)
    before = u.usage[0]
    u.advance(2 * h)
    assert u.usage[0] == pytest.approx(before / 2)
    with pytest.raises(InvalidInputError, match="backwards"):
        u.advance(h)


def test_priority_combines_the_weighted_factors() -> None:
    w = PriorityWeights(fair_share=100.0, age=10.0, size=1.0, max_age_s=100.0)
    p = priorities(
        w,
        fair_share=np.array([1.0, 0.5, 0.5]),
        submit_s=np.array([0.0, -1000.0, 0.0]),
        accelerators=np.array([1, 1, 50]),
        now_s=50.0,
        facility_accelerators=100,
    )
    assert p.tolist() == pytest.approx([100 + 5 + 0.01, 50 + 10 + 0.01, 50 + 5 + 0.5])
    small = priorities(
        PriorityWeights(size=1.0, favor_small=True),
        np.zeros(2),
        np.zeros(2),
        np.array([10, 90]),
        0.0,
        100,
    )
    assert small[0] > small[1]


def test_rank_breaks_ties_by_submission_then_id() -> None:
    order = rank(
        np.array([5.0, 7.0, 5.0, 5.0]), np.array([2.0, 9.0, 1.0, 1.0]), np.array([1, 2, 4, 3])
    )
    assert order.tolist() == [1, 3, 2, 0]
