"""The facility spec: parsing, every validation error by path, node expansion, load diffing."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pnyx.domain.containment import ContainmentLevel, parse_containment
from pnyx.domain.events import decode_event
from pnyx.domain.inventory import (
    AcceleratorType,
    ClusterDeclared,
    ClusterRetired,
    FacilitySpec,
    SiteDeclared,
    SiteRetired,
    count_totals,
    decide_load,
    expand_names,
    expired_certificates,
    render_cluster,
)
from pnyx.domain.inventory_parse import facility_after, parse_cluster, parse_facility
from pnyx.errors import ConflictError, InvalidInputError

Spec = dict[str, Any]


def group(accel: str = "h100", count: int = 4, per_node: int = 8) -> Spec:
    return {
        "count": count,
        "accelerator_type": accel,
        "accelerators_per_node": per_node,
        "cpus": 96,
        "mem_gib": 1024,
    }


def base() -> Spec:
    """A valid facility: a CL-3 cluster with a dedicated partition and a CL-4 cluster."""
    cl3 = {
        "cluster_id": "de-a",
        "name": "A",
        "engine": "slurm",
        "interconnect": "infiniband-ndr",
        "containment": "CL-3",
        "pods": [
            {"pod_prefix": "de-a-l", "count": 3, "kind": "leaf", "nodes": [group()]},
            {"pod_id": "de-a-s0", "kind": "leaf", "nodes": [group("h200", 2)]},
        ],
        "partitions": [
            {
                "name": "secure",
                "containment": "CL-3",
                "certificate_expires": "2027-01-31",
                "pods": ["de-a-s0"],
            }
        ],
    }
    cl4 = {
        "cluster_id": "es-v",
        "name": "Vault",
        "engine": "slurm",
        "interconnect": "roce",
        "containment": "CL-4",
        "physically_separate": True,
        "pods": [
            {
                "pod_id": "es-v-r0",
                "kind": "rack",
                "nodes": [
                    {
                        "names": ["v1", "v2"],
                        "accelerator_type": "mi300x",
                        "accelerators_per_node": 8,
                        "cpus": 96,
                        "mem_gib": 1024,
                    }
                ],
            }
        ],
        "partitions": [
            {
                "name": "cl4",
                "containment": "CL-4",
                "certificate_expires": "2027-02-28",
                "pods": ["es-v-r0"],
            }
        ],
    }
    return {
        "version": 1,
        "sites": [
            {
                "site_id": "de",
                "name": "J",
                "host_member": "de",
                "location": "DE",
                "clusters": [cl3],
            },
            {
                "site_id": "es",
                "name": "B",
                "host_member": "es",
                "location": "ES",
                "clusters": [cl4],
            },
        ],
    }


def test_base_parses_with_expected_totals() -> None:
    spec = parse_facility(base())
    totals = count_totals(spec)
    assert (totals.sites, totals.clusters, totals.pods, totals.nodes) == (2, 2, 5, 16)
    assert totals.by_type == {"h100": 96, "h200": 16, "mi300x": 16}
    assert totals.accelerators == 128
    de_a = spec.clusters[0]
    assert [p.pod_id for p in de_a.pods] == ["de-a-l000", "de-a-l001", "de-a-l002", "de-a-s0"]
    assert list(de_a.pods[0].node_names()) == [f"de-a-l000-n00{i}" for i in range(4)]
    assert de_a.partition_of() == {"de-a-s0": "secure"}
    assert spec.clusters[1].pods[0].nodes[0].names == ("v1", "v2")


def at(path: str) -> Callable[[Spec], Any]:
    """Navigate 'sites[0].clusters[0]' in a spec dict; returns a getter of the parent."""
    return lambda spec: _walk(spec, path)


def _walk(spec: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+", path):
        spec = spec[int(part)] if part.isdigit() else spec[part]
    return spec


def setter(path: str, value: Any) -> Callable[[Spec], None]:
    parent, _, key = path.rpartition(".")

    def mutate(spec: Spec) -> None:
        target = _walk(spec, parent) if parent else spec
        if value is _DELETE:
            del target[key]
        else:
            target[key] = value

    return mutate


_DELETE = object()
C0 = "sites[0].clusters[0]"
V0 = "sites[1].clusters[0]"
G0 = f"{C0}.pods[0].nodes[0]"


def _add_pod(spec: Spec) -> None:
    _walk(spec, f"{V0}.pods").append({"pod_id": "es-v-r1", "kind": "rack", "nodes": [group()]})


def _second_partition(spec: Spec) -> None:
    part = {"name": "other", "containment": "CL-2", "pods": ["de-a-s0"]}
    _walk(spec, f"{C0}.partitions").append(part)


def _duplicate_partition(spec: Spec) -> None:
    part = {"name": "secure", "containment": "CL-2", "pods": ["de-a-l000"]}
    _walk(spec, f"{C0}.partitions").append(part)


BROKEN: list[tuple[str, Callable[[Spec], None], str]] = [
    ("count zero", setter(f"{G0}.count", 0), f"{G0}.count: must be > 0, got 0"),
    ("count negative", setter(f"{G0}.count", -2), f"{G0}.count: must be > 0, got -2"),
    ("count bool", setter(f"{G0}.count", True), f"{G0}.count: expected an integer, got a boolean"),
    ("count text", setter(f"{G0}.count", "4"), f"{G0}.count: expected an integer, got a string"),
    ("count missing", setter(f"{G0}.count", _DELETE), f"{G0}.count: required"),
    ("unknown accelerator", setter(f"{G0}.accelerator_type", "h900"),
     f"{G0}.accelerator_type: unknown accelerator type 'h900'"),
    ("per node zero", setter(f"{G0}.accelerators_per_node", 0),
     f"{G0}.accelerators_per_node: must be > 0, got 0"),
    ("per node huge", setter(f"{G0}.accelerators_per_node", 100),
     f"{G0}.accelerators_per_node: must be <= 64, got 100"),
    ("cpus zero", setter(f"{G0}.cpus", 0), f"{G0}.cpus: must be > 0, got 0"),
    ("mem negative", setter(f"{G0}.mem_gib", -1), f"{G0}.mem_gib: must be > 0, got -1"),
    ("typo field", setter(f"{G0}.acelerators", 8), f"{G0}: unknown field(s) acelerators"),
    ("names and prefix", setter("sites[1].clusters[0].pods[0].nodes[0].prefix", "x"),
     "sites[1].clusters[0].pods[0].nodes[0].prefix: not allowed together with names"),
    ("too many for digits", setter(f"{G0}.count", 1001),
     f"{G0}.count: 1001 names from 0 do not fit in 3 digits"),
    ("digits too many", setter(f"{G0}.digits", 7), f"{G0}.digits: must be <= 6, got 7"),
    ("bad prefix", setter(f"{G0}.prefix", "Node "),
     f"{G0}.prefix: id 'Node 003' is not a valid id"),
    ("group not mapping", setter(f"{C0}.pods[0].nodes", ["x"]),
     f"{G0}: expected a mapping, got a string"),
    ("no node groups", setter(f"{C0}.pods[0].nodes", []),
     f"{C0}.pods[0].nodes: needs at least 1 item(s), got 0"),
    ("duplicate node in group", setter(f"{V0}.pods[0].nodes[0].names", ["v1", "v1"]),
     f"{V0}.pods[0].nodes[0]: node name 'v1' is already used at {V0}.pods[0].nodes[0]"),
    ("node name across clusters", setter(f"{V0}.pods[0].nodes[0].names", ["de-a-s0-n000"]),
     f"{V0}.pods[0].nodes[0]: node name 'de-a-s0-n000' is already used at {C0}.pods[1].nodes[0]"),
    ("bad node name", setter(f"{V0}.pods[0].nodes[0].names", ["ok", "Bad Name"]),
     f"{V0}.pods[0].nodes[0].names[1]: id 'Bad Name' is not a valid id"),
    ("duplicate site", setter("sites[1].site_id", "de"),
     "sites[1].site_id: site id 'de' is already used at sites[0].site_id"),
    ("duplicate cluster", setter(f"{V0}.cluster_id", "de-a"),
     f"{V0}.cluster_id: cluster id 'de-a' is already used at {C0}.cluster_id"),
    ("duplicate pod", setter(f"{V0}.pods[0].pod_id", "de-a-s0"),
     f"{V0}.pods[0]: pod id 'de-a-s0' is already used at {C0}.pods[1]"),
    ("pod id and prefix", setter(f"{C0}.pods[1].pod_prefix", "x-"),
     f"{C0}.pods[1]: give either pod_id or pod_prefix (with count)"),
    ("pod count without prefix", setter(f"{C0}.pods[1].count", 2),
     f"{C0}.pods[1].count: only allowed with pod_prefix"),
    ("unknown pod kind", setter(f"{C0}.pods[1].kind", "shelf"),
     f"{C0}.pods[1].kind: unknown pod kind 'shelf'"),
    ("invalid site id", setter("sites[0].site_id", "DE!"), "sites[0].site_id: id 'DE!'"),
    ("missing site name", setter("sites[0].name", _DELETE), "sites[0].name: required"),
    ("empty site name", setter("sites[0].name", " "), "sites[0].name: must be 1-200 characters"),
    ("host member invalid", setter("sites[0].host_member", 7),
     "sites[0].host_member: expected an id (string), got an integer"),
    ("no sites", setter("sites", []), "sites: needs at least 1 item(s), got 0"),
    ("sites not a list", setter("sites", {"de": 1}), "sites: expected a list, got a mapping"),
    ("no pods", setter(f"{C0}.pods", []), f"{C0}.pods: needs at least 1 item(s), got 0"),
    ("unknown engine", setter(f"{C0}.engine", "k8s"), f"{C0}.engine: unknown engine 'k8s'"),
    ("unknown interconnect", setter(f"{C0}.interconnect", "carrier-pigeon"),
     f"{C0}.interconnect: unknown interconnect 'carrier-pigeon'"),
    ("unknown level", setter(f"{C0}.containment", "CL-5"),
     f"{C0}.containment: unknown containment level 'CL-5'"),
    ("separate not bool", setter(f"{C0}.physically_separate", "yes"),
     f"{C0}.physically_separate: expected true or false, got a string"),
    ("partition above cluster", setter(f"{C0}.containment", "CL-2"),
     f"{C0}.partitions[0].containment: CL-3 exceeds the cluster's certified level CL-2"),
    ("CL-3 without certificate", setter(f"{C0}.partitions[0].certificate_expires", _DELETE),
     f"{C0}.partitions[0].certificate_expires: required for CL-3 partitions"),
    ("certificate bad month", setter(f"{C0}.partitions[0].certificate_expires", "2027-13-01"),
     f"{C0}.partitions[0].certificate_expires: expected a date YYYY-MM-DD, got '2027-13-01'"),
    ("certificate prose", setter(f"{C0}.partitions[0].certificate_expires", "next year"),
     f"{C0}.partitions[0].certificate_expires: expected a date YYYY-MM-DD, got 'next year'"),
    ("partition unknown pod", setter(f"{C0}.partitions[0].pods", ["nope"]),
     f"{C0}.partitions[0].pods[0]: no pod 'nope' in this cluster"),
    ("partition other cluster's pod", setter(f"{C0}.partitions[0].pods", ["es-v-r0"]),
     f"{C0}.partitions[0].pods[0]: no pod 'es-v-r0' in this cluster"),
    ("partition without pods", setter(f"{C0}.partitions[0].pods", []),
     f"{C0}.partitions[0].pods: needs at least 1 item(s), got 0"),
    ("pod in two partitions", _second_partition,
     f"{C0}.partitions[1].pods[0]: pod 'de-a-s0' is already in partition 'secure'"),
    ("partition twice", _duplicate_partition,
     f"{C0}.partitions[1].name: partition 'secure' is declared twice"),
    ("CL-4 not separate", setter(f"{V0}.physically_separate", False),
     f"{V0}.physically_separate: a CL-4 cluster must be physically separate"),
    ("CL-4 with CL-3 partition", setter(f"{V0}.partitions[0].containment", "CL-3"),
     f"{V0}.partitions[0].containment: a CL-4 cluster may hold only CL-4 partitions, got CL-3"),
    ("CL-4 pod uncovered", _add_pod,
     f"{V0}.partitions: a CL-4 cluster must place every pod in a CL-4 partition; "
     "not covered: es-v-r1"),
    ("CL-4 without partitions", setter(f"{V0}.partitions", []),
     f"{V0}.partitions: a CL-4 cluster must place every pod in a CL-4 partition"),
    ("unknown top-level field", setter("site", []), ": unknown field(s) site"),
    ("future version", setter("version", 2), "version: unsupported format version 2"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "message"), [(m, e) for _, m, e in BROKEN],
                         ids=[name for name, _, _ in BROKEN])  # fmt: skip
def test_broken_spec_is_refused_naming_the_path(
    mutate: Callable[[Spec], None], message: str
) -> None:
    spec = base()
    mutate(spec)
    with pytest.raises(InvalidInputError) as info:
        parse_facility(spec)
    assert message.lstrip(": ") in str(info.value)
    if not message.startswith(":"):
        assert str(info.value).startswith(message.split(":")[0] + ":")


@pytest.mark.parametrize("value", [None, [], "sites", 3])
def test_top_level_must_be_a_mapping(value: object) -> None:
    with pytest.raises(InvalidInputError, match="expected a mapping"):
        parse_facility(value)


def test_node_budget_stops_oversized_facilities() -> None:
    spec = base()
    pods = _walk(spec, f"{C0}.pods")
    pods[0] = {"pod_prefix": "big-", "count": 2, "kind": "rack",
               "nodes": [group() | {"count": 600_000, "digits": 6}]}  # fmt: skip
    with pytest.raises(InvalidInputError, match=r"pods\[0\].nodes\[0\]: a facility holds at most"):
        parse_facility(spec)


def test_yaml_dates_and_canonical_round_trip() -> None:
    import datetime

    spec = base()
    _walk(spec, f"{C0}.partitions[0]")["certificate_expires"] = datetime.date(2027, 1, 31)
    parsed = parse_facility(spec)
    assert parsed == parse_facility(base())
    for cluster in parsed.clusters:
        rendered = render_cluster(cluster)
        assert parse_cluster(rendered, cluster.site_id, "x") == cluster


# --- containment ------------------------------------------------------------------------------


def test_containment_levels_rank_and_parse() -> None:
    assert [lvl.rank for lvl in ContainmentLevel] == [1, 2, 3, 4]
    assert parse_containment("cl-3") is ContainmentLevel.CL3
    assert ContainmentLevel.CL3.needs_certificate and not ContainmentLevel.CL2.needs_certificate
    with pytest.raises(InvalidInputError, match=r"job\.level: unknown containment level 'BSL-3'"):
        parse_containment("BSL-3", "job.level")
    with pytest.raises(InvalidInputError, match="known: CL-1, CL-2, CL-3, CL-4"):
        parse_containment(3)


# --- node expansion ---------------------------------------------------------------------------


def test_expand_names_pads_and_offsets() -> None:
    assert expand_names("n-", 3, 0, 2) == ["n-00", "n-01", "n-02"]
    assert expand_names("gpu", 2, 9, 3) == ["gpu009", "gpu010"]
    assert expand_names("x", 0) == []


@given(
    prefix=st.sampled_from(["n", "node-", "de-a-l000-n"]),
    count=st.integers(0, 300),
    start=st.integers(0, 50),
    digits=st.integers(3, 6),
)
def test_expanded_names_are_unique_and_sort_in_index_order(
    prefix: str, count: int, start: int, digits: int
) -> None:
    names = expand_names(prefix, count, start, digits)
    assert len(names) == count
    assert len(set(names)) == count
    assert names == sorted(names)
    assert all(n.startswith(prefix) and len(n) == len(prefix) + digits for n in names)


# --- certificates -----------------------------------------------------------------------------


def test_expired_certificates_are_reported_not_hidden() -> None:
    import datetime

    spec = parse_facility(base())
    assert expired_certificates(spec, datetime.date(2026, 12, 31)) == []
    lines = expired_certificates(spec, datetime.date(2027, 2, 1))
    assert len(lines) == 1
    assert "de-a partition secure (CL-3): certificate expired 2027-01-31" in lines[0]


# --- deciding a load --------------------------------------------------------------------------


def test_first_load_declares_sites_then_clusters() -> None:
    spec = parse_facility(base())
    events = decide_load(None, spec)
    kinds = [type(e) for e in events]
    assert kinds == [SiteDeclared, SiteDeclared, ClusterDeclared, ClusterDeclared]
    assert facility_after(None, events) == spec


def test_same_spec_emits_nothing() -> None:
    spec = parse_facility(base())
    assert decide_load(spec, parse_facility(base())) == []


def test_changed_cluster_is_redeclared_alone() -> None:
    old = parse_facility(base())
    changed = base()
    _walk(changed, f"{C0}.pods[0].nodes[0]")["count"] = 5
    events = decide_load(old, parse_facility(changed))
    assert len(events) == 1
    assert isinstance(events[0], ClusterDeclared)
    assert events[0].cluster_id == "de-a"


def test_changed_site_is_redeclared_alone() -> None:
    old = parse_facility(base())
    changed = base()
    changed["sites"][1]["location"] = "Barcelona"
    assert decide_load(old, parse_facility(changed)) == [SiteDeclared("es", "B", "es", "Barcelona")]


def test_removed_cluster_and_site_are_retired() -> None:
    old = parse_facility(base())
    smaller = base()
    del smaller["sites"][1]
    events = decide_load(old, parse_facility(smaller))
    assert events == [ClusterRetired("es-v"), SiteRetired("es")]
    assert facility_after(old, events) == parse_facility(smaller)


def test_pod_moving_between_clusters_retires_the_donor_first() -> None:
    old = parse_facility(base())
    moved = base()
    pods = _walk(moved, f"{C0}.pods")
    pod = pods.pop(0)
    extra = {
        "cluster_id": "de-b",
        "name": "B",
        "engine": "local",
        "interconnect": "roce",
        "containment": "CL-1",
        "pods": [pod],
    }
    moved["sites"][0]["clusters"].insert(0, extra)
    events = decide_load(old, parse_facility(moved))
    assert [(type(e).__name__, getattr(e, "cluster_id", "")) for e in events] == [
        ("ClusterRetired", "de-a"),
        ("ClusterDeclared", "de-b"),
        ("ClusterDeclared", "de-a"),
    ]
    assert _by_id(facility_after(old, events)) == _by_id(parse_facility(moved))


def test_applying_a_clashing_declaration_is_refused() -> None:
    old = parse_facility(base())
    clash = ClusterDeclared(
        **(render_cluster(old.clusters[0]) | {"cluster_id": "copy", "partitions": []}),
        site_id="de",
    )
    with pytest.raises(ConflictError, match="pod:de-a-l000 is held by another cluster"):
        facility_after(old, [clash])


def test_cluster_event_payload_is_json_and_decodes() -> None:
    spec = parse_facility(base())
    ev = decide_load(None, spec)[2]
    assert isinstance(ev, ClusterDeclared)
    payload = ev.payload()
    assert isinstance(payload["pods"], list)
    assert payload["pods"][0]["nodes"][0]["prefix"] == "de-a-l000-n"
    assert decode_event(ev.KIND, ev.VERSION, payload) == ev


# --- properties -------------------------------------------------------------------------------

CLUSTER_POOL = ["c0", "c1", "c2", "c3"]
POD_POOL = [f"p{i}" for i in range(8)]


@st.composite
def facilities(draw: st.DrawFn) -> FacilitySpec:
    """Random valid facilities over shared id pools, so two draws overlap and pods move."""
    owners = draw(st.lists(st.sampled_from([*CLUSTER_POOL, None]), min_size=8, max_size=8))
    site_of = draw(st.lists(st.sampled_from(["s0", "s1"]), min_size=4, max_size=4))
    sites: dict[str, list[Spec]] = {"s0": [], "s1": []}
    for cid, site in zip(CLUSTER_POOL, site_of, strict=True):
        pods = [
            _pod(draw, pid) for pid, owner in zip(POD_POOL, owners, strict=True) if owner == cid
        ]
        if pods:
            level = draw(st.sampled_from(["CL-1", "CL-2"]))
            parts = [{"name": "p", "containment": level, "pods": [pods[0]["pod_id"]]}]
            sites[site].append(
                {
                    "cluster_id": cid,
                    "name": draw(st.sampled_from(["A", "B"])),
                    "engine": draw(st.sampled_from(["slurm", "local"])),
                    "interconnect": "roce",
                    "containment": level,
                    "pods": pods,
                    "partitions": parts if draw(st.booleans()) else [],
                }
            )
    listed = [
        {"site_id": sid, "name": sid, "host_member": "m", "location": "x", "clusters": cl}
        for sid, cl in sites.items()
        if cl or draw(st.booleans())
    ]
    if not listed:
        listed = [{"site_id": "s0", "name": "s0", "host_member": "m", "location": "x"}]
    return parse_facility({"sites": listed})


def _pod(draw: st.DrawFn, pod_id: str) -> Spec:
    accel = draw(st.sampled_from([str(AcceleratorType.H100), "mi300x", "gaudi3"]))
    count = draw(st.integers(1, 4))
    return {"pod_id": pod_id, "kind": "rack", "nodes": [group(accel, count)]}


def _by_id(spec: FacilitySpec) -> tuple[dict[str, Any], dict[str, Any]]:
    return {s.site_id: s for s in spec.sites}, {c.cluster_id: c for c in spec.clusters}


@settings(max_examples=150, deadline=None)
@given(old=facilities(), new=facilities())
def test_load_events_turn_any_facility_into_any_other(old: FacilitySpec, new: FacilitySpec) -> None:
    events = decide_load(old, new)
    assert _by_id(facility_after(old, events)) == _by_id(new)
    assert decide_load(facility_after(old, events), new) == []


@settings(max_examples=50, deadline=None)
@given(spec=facilities())
def test_rendered_clusters_parse_back_to_themselves(spec: FacilitySpec) -> None:
    for cluster in spec.clusters:
        assert parse_cluster(copy.deepcopy(render_cluster(cluster)), cluster.site_id, "") == cluster
