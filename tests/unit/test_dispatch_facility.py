"""The live facility the scheduling core sees: engine nodes joined with the inventory (pods,
partitions and their certificates today, down nodes, undeclared nodes), and which type codes
a job of some level and types may use."""

from __future__ import annotations

from datetime import date

from pnyx.backends.base import NodeStatus
from pnyx.services.dispatch_facility import build_live_facility
from pnyx.services.inventory_dto import ClusterSummary, PartitionView

TODAY = date(2026, 3, 1)


def summary(cluster: str, level: str, partitions: list[PartitionView]) -> ClusterSummary:
    return ClusterSummary(
        cluster_id=cluster, site_id=f"site-{cluster}", name=cluster, engine="slurm",
        interconnect="ib", containment=level, physically_separate=False, pods=2, nodes=4,
        accelerators=32, by_type={"h100": 32}, partitions=partitions,
    )  # fmt: skip


def inv(cluster: str, name: str, pod: str, partition: str | None = None) -> dict[str, object]:
    return {
        "cluster_id": cluster, "node_name": name, "pod_id": pod, "accelerator_type": "h100",
        "accelerators": 8, "partition": partition,
    }  # fmt: skip


def part(name: str, level: str, expires: str | None) -> PartitionView:
    return PartitionView(
        name=name, containment=level, certificate_expires=expires, nodes=1, accelerators=8
    )


def world() -> tuple[dict[str, ClusterSummary], list[dict[str, object]]]:
    parts = [part("sec", "CL-3", "2027-01-01"), part("old", "CL-4", "2026-01-01")]
    declared = {"a": summary("a", "CL-4", parts), "b": summary("b", "CL-1", [])}
    inventory = [
        inv("a", "a1", "a-r0"), inv("a", "a2", "a-r0"), inv("a", "a3", "a-r1", "sec"),
        inv("a", "a4", "a-r1", "old"), inv("b", "b1", "b-r0"),
    ]  # fmt: skip
    return declared, inventory


def node(name: str, state: str = "idle", kind: str = "h100", count: int = 8) -> NodeStatus:
    return NodeStatus(name, state, kind, count)


def test_levels_follow_the_partitions_and_their_certificates_today() -> None:
    declared, inventory = world()
    engines = {"a": [node("a1"), node("a2"), node("a3"), node("a4")], "b": [node("b1")]}
    live = build_live_facility(declared, inventory, engines, TODAY)
    assert live is not None
    level = {n.name: n.level for n in live.nodes}
    assert level == {"a1": 2, "a2": 2, "a3": 3, "a4": 0, "b1": 1}  # a4: certificate expired
    pods = {n.name: n.pod for n in live.nodes}
    assert pods["a1"] == pods["a2"] != pods["a3"]


def test_acceptable_codes_are_exact_for_partitions_and_default_for_cl1_cl2() -> None:
    declared, inventory = world()
    engines = {"a": [node("a1"), node("a3"), node("a4")], "b": [node("b1")]}
    live = build_live_facility(declared, inventory, engines, TODAY)
    assert live is not None

    def where(level: int) -> set[tuple[str, str | None]]:
        codes = live.acceptable(["h100"], level)
        return {(live.codes[c].cluster, live.codes[c].partition) for c in codes}

    assert where(1) == {("a", None), ("b", None)}
    assert where(3) == {("a", "sec")}  # a CL-3 job never in the default pods, nor in CL-4's
    assert where(4) == {("a", "old")}  # its nodes are at level 0 today: nothing can start there


def test_undeclared_engine_nodes_go_to_a_default_pod_and_down_nodes_are_down() -> None:
    declared, inventory = world()
    engines = {"a": [node("a1", "down*"), node("extra", "mixed")], "b": [node("b1", "drained")]}
    live = build_live_facility(declared, inventory, engines, TODAY)
    assert live is not None
    by_name = {n.name: n for n in live.nodes}
    assert by_name["extra"].pod == "a/engine" and by_name["extra"].partition is None
    assert by_name["extra"].level == 2  # CL-4 cluster, outside every partition: CL-2 at most
    assert not by_name["a1"].up and not by_name["b1"].up and by_name["extra"].up


def test_data_local_clusters_are_preferred_when_they_can_hold_the_job() -> None:
    declared, inventory = world()
    engines = {"a": [node("a1"), node("a2")], "b": [node("b1")]}
    live = build_live_facility(declared, inventory, engines, TODAY)
    assert live is not None
    sites = {"web@1": frozenset({"site-b"})}
    local = live.acceptable(["h100"], 1, (1, 8), ["web@1"], sites)
    assert {live.codes[c].cluster for c in local} == {"b"}
    too_big = live.acceptable(["h100"], 1, (2, 8), ["web@1"], sites)  # b has one node
    assert {live.codes[c].cluster for c in too_big} == {"a", "b"}


def test_no_nodes_with_accelerators_is_no_facility() -> None:
    declared, inventory = world()
    assert build_live_facility(declared, inventory, {"b": [node("b1", count=0)]}, TODAY) is None
