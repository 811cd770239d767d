"""The broker: hard filters (type, gang shape, containment, certificates, reachability, queue
depth), then the score (backlog, data locality, type preference), with readable reasons."""

from __future__ import annotations

from datetime import date

import pytest

from pnyx.domain.broker import (
    BrokerChoice,
    BrokerConfig,
    BrokerRefusal,
    ClusterOffer,
    JobNeeds,
    PartitionOffer,
    TypeCapacity,
    certified_partition,
    charge,
    choose_cluster,
)
from pnyx.errors import InvalidInputError

TODAY = date(2026, 11, 26)
DEFAULT = PartitionOffer(None, 2)


def offer(
    cid: str,
    caps: dict[str, tuple[int, int]],
    site: str = "s1",
    parts: tuple[PartitionOffer, ...] = (DEFAULT,),
    waiting: int = 0,
    per_node: int = 8,
    available: bool = True,
) -> ClusterOffer:
    capacity = {
        t: TypeCapacity(total=total, free=free, nodes=total // per_node, largest_node=per_node)
        for t, (total, free) in caps.items()
    }
    return ClusterOffer(cid, site, parts, capacity, waiting, available, "" if available else "down")


def job(
    types: tuple[str, ...] = ("h100",),
    nodes: int = 1,
    per: int = 1,
    cl: int = 1,
    datasets: tuple[str, ...] = (),
) -> JobNeeds:
    return JobNeeds("j-1", types, nodes, per, cl, datasets)


def chosen(result: BrokerChoice | BrokerRefusal) -> BrokerChoice:
    assert isinstance(result, BrokerChoice), result
    return result


def refused(result: BrokerChoice | BrokerRefusal) -> BrokerRefusal:
    assert isinstance(result, BrokerRefusal), result
    return result


def test_prefers_the_cluster_where_the_job_starts_now() -> None:
    busy = offer("a-busy", {"h100": (64, 0)})
    free = offer("b-free", {"h100": (64, 16)})
    choice = chosen(choose_cluster(job(per=8), [busy, free], TODAY))
    assert choice.cluster_id == "b-free"
    assert choice.starts_now
    assert "16 of 64 h100 free now" in choice.reason
    assert "b-free" in choice.reason and "preferred over 1 other" in choice.reason


def test_shorter_queue_wins_when_nothing_is_free() -> None:
    long = offer("a", {"h100": (64, 0)}, waiting=128)
    short = offer("b", {"h100": (64, 0)}, waiting=8)
    choice = chosen(choose_cluster(job(), [long, short], TODAY))
    assert (choice.cluster_id, choice.starts_now) == ("b", False)
    assert "queued behind 8 accelerators" in choice.reason


def test_data_locality_outweighs_a_short_queue() -> None:
    near = offer("near", {"h100": (64, 0)}, site="de", waiting=16)
    far = offer("far", {"h100": (64, 64)}, site="fr")
    sites = {"corpus": frozenset({"de"})}
    choice = chosen(choose_cluster(job(datasets=("corpus",)), [far, near], TODAY, sites))
    assert choice.cluster_id == "near"
    assert "holds 1 of 1 datasets at site de" in choice.reason
    no_data = chosen(choose_cluster(job(), [far, near], TODAY, sites))
    assert no_data.cluster_id == "far"


def test_type_preference_order_breaks_even_offers() -> None:
    both = offer("x", {"h100": (64, 64), "h200": (64, 64)})
    assert (
        chosen(choose_cluster(job(types=("h200", "h100")), [both], TODAY)).accelerator_type
        == "h200"
    )
    assert (
        chosen(choose_cluster(job(types=("h100", "h200")), [both], TODAY)).accelerator_type
        == "h100"
    )


def test_gang_shape_must_fit_the_nodes() -> None:
    small_nodes = offer("small", {"h100": (64, 64)}, per_node=4)
    refusal = refused(choose_cluster(job(nodes=2, per=8), [small_nodes], TODAY))
    assert refusal.permanent
    assert "no h100 nodes for 2 node(s) x 8" in refusal.ruled_out["small"]
    too_few = offer("few", {"h100": (8, 8)})
    assert isinstance(choose_cluster(job(nodes=2, per=8), [too_few], TODAY), BrokerRefusal)


def test_unacceptable_type_is_refused_with_what_the_cluster_has() -> None:
    refusal = refused(
        choose_cluster(job(types=("b200",)), [offer("m", {"mi300x": (16, 16)})], TODAY)
    )
    assert "has mi300x x16" in refusal.reason and refusal.permanent


@pytest.mark.parametrize(
    ("level", "parts", "expect"),
    [
        (1, (DEFAULT,), None),
        (2, (DEFAULT,), None),
        (3, (DEFAULT,), "no partition certified for CL-3"),
        (3, (PartitionOffer(None, 3),), "no partition certified for CL-3"),  # default caps at 2
        (3, (PartitionOffer("cl3", 3, date(2027, 1, 1)),), "cl3"),
        (2, (PartitionOffer("cl3", 3, date(2027, 1, 1)),), "no partition certified for CL-2"),
        (1, (PartitionOffer(None, 1),), None),
        (2, (PartitionOffer(None, 1),), "no partition certified for CL-2"),
        (3, (PartitionOffer("cl3", 3, date(2026, 1, 1)),), "expired 2026-01-01"),
        (4, (PartitionOffer("cl3", 3, date(2027, 1, 1)),), "no partition certified for CL-4"),
        (3, (PartitionOffer("cl4", 4, date(2027, 1, 1)),), "no partition certified for CL-3"),
        (4, (PartitionOffer("cl4", 4, date(2027, 1, 1)),), "cl4"),
    ],
)
def test_containment_certification(
    level: int, parts: tuple[PartitionOffer, ...], expect: str | None
) -> None:
    result = choose_cluster(job(cl=level), [offer("c", {"h100": (8, 8)}, parts=parts)], TODAY)
    if expect is None:
        assert chosen(result).partition is None
    elif expect in ("cl3", "cl4"):
        assert chosen(result).partition == expect
    else:
        assert expect in refused(result).reason


def test_low_level_job_stays_out_of_named_partitions() -> None:
    parts = (PartitionOffer("cl3", 3, date(2027, 1, 1)), DEFAULT)
    part, _ = certified_partition(offer("c", {}, parts=parts), 1, TODAY)
    assert part is DEFAULT
    part, _ = certified_partition(offer("c", {}, parts=parts), 3, TODAY)
    assert part is not None and part.name == "cl3"


def test_unavailable_engine_and_full_queue_are_temporary() -> None:
    down = offer("down", {"h100": (64, 64)}, available=False)
    full = offer("full", {"h100": (8, 0)}, waiting=32)
    refusal = refused(choose_cluster(job(), [down, full], TODAY))
    assert not refusal.permanent
    assert "engine unavailable (down)" in refusal.ruled_out["down"]
    assert "queue full" in refusal.ruled_out["full"]
    unlimited = BrokerConfig(max_backlog_ratio=None)
    assert chosen(choose_cluster(job(), [full], TODAY, config=unlimited)).cluster_id == "full"


def test_charge_updates_free_or_waiting() -> None:
    o = offer("c", {"h100": (16, 8)})
    now = chosen(choose_cluster(job(per=8), [o], TODAY))
    after = charge(o, now, 8)
    assert after.capacity["h100"].free == 0 and after.waiting_accelerators == 0
    later = chosen(choose_cluster(job(per=8), [after], TODAY))
    assert not later.starts_now
    assert charge(after, later, 8).waiting_accelerators == 8


def test_choice_is_deterministic_on_ties() -> None:
    offers = [offer(c, {"h100": (8, 8)}) for c in ("c", "a", "b")]
    assert chosen(choose_cluster(job(), offers, TODAY)).cluster_id == "a"


def test_undeclared_cluster_is_certified_for_nothing() -> None:
    bare = offer("bare", {"h100": (8, 8)}, parts=())
    refusal = refused(choose_cluster(job(), [bare], TODAY))
    assert refusal.permanent and "not declared in the facility inventory" in refusal.reason


def test_no_clusters_is_a_permanent_refusal() -> None:
    assert refused(choose_cluster(job(), [], TODAY)).reason.endswith("(no clusters)")


def test_invalid_needs_and_config_raise() -> None:
    with pytest.raises(InvalidInputError):
        JobNeeds("j", (), 1, 1, 1)
    with pytest.raises(InvalidInputError):
        JobNeeds("j", ("h100",), 0, 1, 1)
    with pytest.raises(InvalidInputError):
        JobNeeds("j", ("h100",), 1, -1, 1)
    with pytest.raises(InvalidInputError):
        JobNeeds("j", ("h100",), 1, 1, 5)
    with pytest.raises(InvalidInputError):
        BrokerConfig(max_backlog_ratio=0)
