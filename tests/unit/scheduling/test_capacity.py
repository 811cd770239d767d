"""The capacity index: updates keep the aggregates exact, and it refuses to over-allocate."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pnyx.errors import ConflictError, InvalidInputError
from pnyx.sched import Facility, grid_facility
from pnyx.sched.capacity import FREE_OWNER, CapacityIndex

from .helpers import assert_index_consistent, job, two_clusters


def test_fresh_index_counts_every_node_as_idle() -> None:
    ix = CapacityIndex(two_clusters())
    assert_index_consistent(ix)
    assert ix.total_free() == 160
    cap = ix.pod_capacity(job(8, per_node=8), 0)
    assert cap.tolist() == [4, 4, 4, 0, 0]


def test_allocate_and_release_round_trip() -> None:
    ix = CapacityIndex(two_clusters())
    ix.allocate([0, 1], [3, 8], project=1, exclusive=False, use_held=False)
    assert ix.free[:2] == [5, 0]
    assert ix.pod_capacity(job(1), 0).tolist() == [21, 32, 32, 0, 0]
    assert_index_consistent(ix)
    ix.release([0, 1], [3, 8])
    assert ix.free[:2] == [8, 8]
    assert_index_consistent(ix)


def test_over_allocation_is_refused_and_changes_nothing() -> None:
    ix = CapacityIndex(two_clusters())
    ix.allocate([0], [6], project=1, exclusive=False, use_held=False)
    with pytest.raises(ConflictError):
        ix.allocate([1, 0], [1, 3], project=1, exclusive=False, use_held=False)
    assert ix.free[:2] == [2, 8]
    with pytest.raises(ConflictError):
        ix.release([1], [1])
    assert_index_consistent(ix)


def test_exclusive_job_owns_its_nodes_until_they_empty() -> None:
    ix = CapacityIndex(two_clusters())
    ix.allocate([8], [2], project=7, exclusive=True, use_held=False)
    assert ix.owner[8] == 7
    assert ix.own_nodes(7) == [8]
    with pytest.raises(ConflictError, match="exclusively"):
        ix.allocate([8], [1], project=3, exclusive=False, use_held=False)
    ix.allocate([8], [1], project=7, exclusive=False, use_held=False)
    ix.release([8], [2])
    assert ix.owner[8] == 7
    ix.release([8], [1])
    assert ix.owner[8] == FREE_OWNER
    assert_index_consistent(ix)


def test_exclusive_job_needs_an_idle_node() -> None:
    ix = CapacityIndex(two_clusters())
    ix.allocate([9], [1], project=3, exclusive=False, use_held=False)
    with pytest.raises(ConflictError, match="idle"):
        ix.allocate([9], [2], project=7, exclusive=True, use_held=False)


def test_holds_are_invisible_to_plain_jobs_and_usable_by_short_ones() -> None:
    ix = CapacityIndex(two_clusters())
    ix.hold([0], [6])
    assert ix.free[0] == 2
    with pytest.raises(ConflictError):
        ix.allocate([0], [4], project=1, exclusive=False, use_held=False)
    ix.allocate([0], [4], project=1, exclusive=False, use_held=True)
    assert (ix.free[0], ix.held[0]) == (2, 2)
    ix.unhold_all()
    assert (ix.free[0], ix.held[0]) == (4, 0)
    assert_index_consistent(ix)


def test_down_node_leaves_the_aggregates() -> None:
    ix = CapacityIndex(two_clusters())
    ix.set_up(0, False)
    assert ix.pod_capacity(job(8, per_node=8), 0).tolist() == [3, 4, 4, 0, 0]
    assert ix.best_node(job(8), 0, 8) == (1, 8)
    ix.set_up(0, True)
    ix.set_level(4, 0)
    assert ix.pod_capacity(job(8, per_node=8), 0).tolist() == [4, 3, 4, 0, 0]
    assert_index_consistent(ix)
    with pytest.raises(InvalidInputError):
        ix.set_level(4, 5)


def test_best_node_is_the_tightest_fit() -> None:
    ix = CapacityIndex(two_clusters())
    ix.allocate([2, 5, 6], [5, 2, 4], project=1, exclusive=False, use_held=False)
    assert ix.best_node(job(3), 0, 3) == (2, 3)
    assert ix.best_node(job(4), 0, 4) == (6, 4)
    assert ix.best_node(job(5), 0, 5) == (5, 6)
    assert ix.best_node(job(1, containment=3), 0, 1) == (8, 8)
    assert ix.best_node(job(1, containment=4), 0, 1) is None


def test_facility_rejects_bad_shapes() -> None:
    with pytest.raises(InvalidInputError, match="one cluster"):
        Facility.from_arrays([8, 8], [0, 0], [0, 0], [0, 1], [1, 1])
    with pytest.raises(InvalidInputError, match="dense"):
        Facility.from_arrays([8, 8, 8], [0, 0, 0], [0, 2, 2], [0, 0, 0], [1, 1, 1])
    with pytest.raises(InvalidInputError, match="containment"):
        Facility.from_arrays([8], [0], [0], [0], [5])
    with pytest.raises(InvalidInputError, match="entries"):
        Facility.from_arrays([8, 8], [0], [0, 0], [0, 0], [1, 1])


OPS = st.lists(
    st.tuples(
        st.sampled_from(["alloc", "release", "hold", "unhold", "down", "up", "level"]),
        st.integers(0, 19),
        st.integers(1, 8),
        st.integers(0, 3),
        st.booleans(),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_random_updates_keep_aggregates_exact(ops: list[tuple[str, int, int, int, bool]]) -> None:
    """Whatever sequence of allocations, releases, holds and failures: exact aggregates,
    and free never negative nor above the node's size."""
    fac = grid_facility((3, 2), nodes_per_pod=4, per_node=8, levels=(1, 2, 3, 2, 4))
    ix = CapacityIndex(fac)
    given_out: dict[int, list[int]] = {n: [] for n in range(fac.n_nodes)}
    for op, n, c, project, exclusive in ops:
        if op == "alloc":
            try:
                ix.allocate([n], [c], project, exclusive, use_held=False)
                given_out[n].append(c)
            except ConflictError:
                pass
        elif op == "release" and given_out[n]:
            ix.release([n], [given_out[n].pop()])
        elif op == "hold":
            ix.hold([n], [c])
        elif op == "unhold":
            ix.unhold_all()
        elif op in ("down", "up"):
            ix.set_up(n, op == "up")
        elif op == "level":
            ix.set_level(n, project + 1)
        assert_index_consistent(ix)
        assert ix.free[n] + ix.held[n] + sum(given_out[n]) == 8


def test_grid_facility_splits_clusters_per_type_and_size() -> None:
    fac = grid_facility((4, 1), nodes_per_pod=2, per_node=8, pods_per_cluster=3)
    assert fac.pod_cluster.tolist() == [0, 0, 0, 1, 2]
    assert fac.type_code.tolist() == [0] * 8 + [1] * 2
    assert fac.accelerators == 80
    with pytest.raises(InvalidInputError, match="levels"):
        grid_facility((2,), nodes_per_pod=2, per_node=8, levels=(1,))
