"""What a cluster offers the broker: engine nodes that are up, minus what pnyx jobs hold."""

from __future__ import annotations

from datetime import date

from pnyx.backends.base import NodeStatus
from pnyx.services.dispatch_order import build_offer
from pnyx.services.inventory_dto import ClusterSummary, PartitionView

NODES = [
    NodeStatus("n1", "idle", "h100", 8),
    NodeStatus("n2", "mixed", "h100", 8),
    NodeStatus("n3", "down*", "h100", 8, "not responding"),
    NodeStatus("n4", "drained", "h100", 8),
    NodeStatus("m1", "allocated", "mi300x", 4),
]


def job(state: str, kind: str, per_node: int, nodes: int = 1) -> dict[str, object]:
    return {
        "state": state,
        "accelerator_type": kind,
        "nodes": nodes,
        "accelerators_per_node": per_node,
    }


def summary(**overrides: object) -> ClusterSummary:
    fields: dict[str, object] = {
        "cluster_id": "c1", "site_id": "de-lab", "name": "C1", "engine": "slurm",
        "interconnect": "roce", "containment": "CL-3", "physically_separate": False, "pods": 2,
        "nodes": 4, "accelerators": 32, "by_type": {"h100": 32},
        "partitions": [PartitionView(name="cl3", containment="CL-3",
                                     certificate_expires="2027-06-30", nodes=1, accelerators=8)],
    }  # fmt: skip
    fields.update(overrides)
    return ClusterSummary.model_validate(fields)


def test_capacity_counts_up_nodes_and_subtracts_pnyx_jobs() -> None:
    active = [job("running", "h100", 4), job("starting", "h100", 2), job("queued", "h100", 8)]
    offer = build_offer("c1", summary(), NODES, active)
    h100 = offer.capacity["h100"]
    assert (h100.total, h100.nodes, h100.largest_node) == (16, 2, 8)  # n3, n4 are out
    assert h100.free == 16 - 4 - 2  # the queued job holds nothing yet
    assert offer.waiting_accelerators == 2  # handed to the engine, not running
    assert offer.capacity["mi300x"].total == 4


def test_partitions_come_from_the_inventory() -> None:
    offer = build_offer("c1", summary(), NODES, [])
    assert offer.site_id == "de-lab"
    parts = {p.name: (p.containment, p.certificate_expires) for p in offer.partitions}
    assert parts == {None: (3, None), "cl3": (3, date(2027, 6, 30))}


def test_an_undeclared_cluster_offers_no_partition() -> None:
    offer = build_offer("ghost", None, NODES, [])
    assert offer.partitions == () and offer.site_id is None
    assert offer.capacity["h100"].total == 16
