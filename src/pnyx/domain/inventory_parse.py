"""Parsing the facility file into validated specs, and rebuilding specs from events.

Every rule is checked here, so an invalid :class:`FacilitySpec` never exists: unique ids across
the facility (sites, clusters, pods, nodes), known accelerator types, counts > 0, certificates on
CL-3/CL-4 partitions, CL-4 clusters physically separate and wholly CL-4. Errors name the path,
e.g. ``sites[1].clusters[0].pods[3].nodes[0].count: must be > 0, got 0``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from pnyx.domain.containment import ContainmentLevel, parse_containment
from pnyx.domain.events import Event
from pnyx.domain.inventory import (
    EMPTY_FACILITY,
    AcceleratorType,
    ClusterDeclared,
    ClusterRetired,
    ClusterSpec,
    Engine,
    FacilitySpec,
    Interconnect,
    NodeGroup,
    PartitionSpec,
    PodKind,
    PodSpec,
    SiteDeclared,
    SiteRetired,
    SiteSpec,
    expand_names,
)
from pnyx.domain.specs import Fields, choice, slug_at, spec_error, type_name
from pnyx.errors import ConflictError

# --- parsing ----------------------------------------------------------------------------------

SPEC_VERSION = 1
MAX_PODS = 100_000
MAX_NODES = 1_000_000
MAX_ACCELERATORS_PER_NODE = 64
MAX_DIGITS = 6
_SITE_FIELDS = ("site_id", "name", "host_member", "location", "clusters")
_CLUSTER_FIELDS = (
    "cluster_id",
    "name",
    "engine",
    "interconnect",
    "containment",
    "physically_separate",
    "partitions",
    "pods",
)
_POD_FIELDS = ("pod_id", "pod_prefix", "count", "start", "digits", "kind", "nodes")
_RANGE_FIELDS = ("prefix", "count", "start", "digits")
_GROUP_FIELDS = ("accelerator_type", "accelerators_per_node", "cpus", "mem_gib", "names")
_PARTITION_FIELDS = ("name", "containment", "certificate_expires", "pods")


class _Registry:
    """Facility-wide ids seen so far (with where they were declared) and the size budget."""

    def __init__(self) -> None:
        self.where: dict[str, str] = {}
        self.pods = 0
        self.nodes = 0

    def claim(self, key: str, what: str, path: str) -> None:
        if key in self.where:
            raise spec_error(path, f"{what} is already used at {self.where[key]}")
        self.where[key] = path

    def add_pod(self, pod_id: str, path: str) -> None:
        self.pods += 1
        if self.pods > MAX_PODS:
            raise spec_error(path, f"a facility holds at most {MAX_PODS} pods")
        self.claim("pod:" + pod_id, f"pod id {pod_id!r}", path)

    def add_nodes(self, group: NodeGroup, path: str) -> None:
        self.nodes += group.node_count
        if self.nodes > MAX_NODES:
            raise spec_error(path, f"a facility holds at most {MAX_NODES} nodes")
        where = self.where
        for name in group.node_names():
            key = "node:" + name
            if key in where:
                raise spec_error(path, f"node name {name!r} is already used at {where[key]}")
            where[key] = path


def parse_facility(obj: object) -> FacilitySpec:
    """Validate a parsed facility file (YAML or JSON); raise InvalidInputError naming the path."""
    root = Fields(obj, "", ("version", "sites"))
    version = root.integer("version", default=SPEC_VERSION)
    if version != SPEC_VERSION:
        raise spec_error("version", f"unsupported format version {version} (known: 1)")
    registry = _Registry()
    sites: list[SiteSpec] = []
    clusters: list[ClusterSpec] = []
    for path, item in root.items("sites", min_len=1):
        f = Fields(item, path, _SITE_FIELDS)
        site_id = f.slug("site_id")
        registry.claim("site:" + site_id, f"site id {site_id!r}", f.at("site_id"))
        sites.append(SiteSpec(site_id, f.text("name"), f.slug("host_member"), f.text("location")))
        clusters += [parse_cluster(c, site_id, p, registry) for p, c in f.items("clusters")]
    return FacilitySpec(tuple(sites), tuple(clusters))


def parse_cluster(
    obj: object, site_id: str, path: str, registry: _Registry | None = None
) -> ClusterSpec:
    """Validate one cluster mapping (the file's form or :func:`render_cluster`'s)."""
    reg = registry or _Registry()
    f = Fields(obj, path, _CLUSTER_FIELDS)
    cluster_id = f.slug("cluster_id")
    reg.claim("cluster:" + cluster_id, f"cluster id {cluster_id!r}", f.at("cluster_id"))
    level = parse_containment(f.raw("containment"), f.at("containment"))
    pods = [pod for p, item in f.items("pods", min_len=1) for pod in _parse_pods(item, p, reg)]
    cluster = ClusterSpec(
        cluster_id=cluster_id,
        site_id=site_id,
        name=f.text("name"),
        engine=choice(f.at("engine"), f.raw("engine"), Engine, "engine"),
        interconnect=choice(
            f.at("interconnect"), f.raw("interconnect"), Interconnect, "interconnect"
        ),
        containment=level,
        physically_separate=f.flag("physically_separate", False),
        partitions=_parse_partitions(f, {p.pod_id for p in pods}, level),
        pods=tuple(pods),
    )
    _check_cl4(f, cluster)
    return cluster


def cluster_from_event(ev: ClusterDeclared) -> ClusterSpec:
    """The cluster spec a ``ClusterDeclared`` event carries."""
    payload = ev.payload()
    del payload["site_id"]
    return parse_cluster(payload, ev.site_id, f"cluster {ev.cluster_id}")


def _parse_pods(obj: object, path: str, reg: _Registry) -> list[PodSpec]:
    f = Fields(obj, path, _POD_FIELDS)
    kind = choice(f.at("kind"), f.raw("kind"), PodKind, "pod kind")
    if f.has("pod_id") == f.has("pod_prefix"):
        raise spec_error(path, "give either pod_id or pod_prefix (with count)")
    if f.has("pod_id"):
        _forbid(f, ("count", "start", "digits"), "only allowed with pod_prefix")
        ids = [f.slug("pod_id")]
    else:
        ids = expand_names(*_name_range(f, f.text("pod_prefix", max_len=60)))
    pods = []
    for pod_id in ids:
        reg.add_pod(pod_id, path)
        groups = tuple(_parse_group(g, p, pod_id, reg) for p, g in f.items("nodes", min_len=1))
        pods.append(PodSpec(pod_id, kind, groups))
    return pods


def _parse_group(obj: object, path: str, pod_id: str, reg: _Registry) -> NodeGroup:
    f = Fields(obj, path, _GROUP_FIELDS + _RANGE_FIELDS)
    accel = choice(
        f.at("accelerator_type"), f.raw("accelerator_type"), AcceleratorType, "accelerator type"
    )
    per_node = f.integer("accelerators_per_node", maximum=MAX_ACCELERATORS_PER_NODE)
    cpus, mem_gib = f.integer("cpus"), f.integer("mem_gib")
    if f.has("names"):
        _forbid(f, _RANGE_FIELDS, "not allowed together with names")
        names = tuple(_name(item, p) for p, item in f.items("names", min_len=1))
        group = NodeGroup(accel, per_node, cpus, mem_gib, names=names)
    else:
        prefix = f.text("prefix", default=f"{pod_id}-n", max_len=60)
        group = NodeGroup(accel, per_node, cpus, mem_gib, *_name_range(f, prefix))
    reg.add_nodes(group, path)
    return group


def _name_range(f: Fields, prefix: str) -> tuple[str, int, int, int]:
    """(prefix, count, start, digits) of a named range, checked to give valid, fitting names."""
    count = f.integer("count", maximum=MAX_NODES)
    start = f.integer("start", minimum=0, default=0)
    digits = f.integer("digits", maximum=MAX_DIGITS, default=3)
    if start + count > 10**digits:
        raise spec_error(f.at("count"), f"{count} names from {start} do not fit in {digits} digits")
    slug_at(expand_names(prefix, 1, start + count - 1, digits)[0], f.at("prefix"))
    return prefix, count, start, digits


def _name(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise spec_error(path, f"expected a node name (string), got {type_name(value)}")
    return slug_at(value, path)


def _forbid(f: Fields, keys: Iterable[str], why: str) -> None:
    for key in keys:
        if f.has(key):
            raise spec_error(f.at(key), why)


def _parse_partitions(
    f: Fields, pod_ids: set[str], level: ContainmentLevel
) -> tuple[PartitionSpec, ...]:
    holder: dict[str, str] = {}
    out: list[PartitionSpec] = []
    for path, item in f.items("partitions"):
        p = Fields(item, path, _PARTITION_FIELDS)
        name = p.slug("name")
        if any(q.name == name for q in out):
            raise spec_error(p.at("name"), f"partition {name!r} is declared twice")
        plevel = parse_containment(p.raw("containment"), p.at("containment"))
        if plevel.rank > level.rank:
            raise spec_error(
                p.at("containment"), f"{plevel} exceeds the cluster's certified level {level}"
            )
        expires = p.iso_date("certificate_expires")
        if plevel.needs_certificate and expires is None:
            raise spec_error(
                p.at("certificate_expires"), f"required for {plevel} partitions (YYYY-MM-DD)"
            )
        pods = tuple(
            _partition_pod(pod, at, pod_ids, holder, name) for at, pod in p.items("pods", 1)
        )
        out.append(PartitionSpec(name, plevel, expires, pods))
    return tuple(out)


def _partition_pod(
    pod: object, path: str, pod_ids: set[str], holder: dict[str, str], partition: str
) -> str:
    if not isinstance(pod, str) or pod not in pod_ids:
        raise spec_error(path, f"no pod {pod!r} in this cluster")
    if pod in holder:
        raise spec_error(path, f"pod {pod!r} is already in partition {holder[pod]!r}")
    holder[pod] = partition
    return pod


def _check_cl4(f: Fields, cluster: ClusterSpec) -> None:
    """A CL-4 cluster is physically separate and every pod sits in a CL-4 partition."""
    if cluster.containment is not ContainmentLevel.CL4:
        return
    if not cluster.physically_separate:
        raise spec_error(
            f.at("physically_separate"),
            "a CL-4 cluster must be physically separate (set physically_separate: true)",
        )
    for i, part in enumerate(cluster.partitions):
        if part.containment is not ContainmentLevel.CL4:
            raise spec_error(
                f"{f.at('partitions')}[{i}].containment",
                f"a CL-4 cluster may hold only CL-4 partitions, got {part.containment}",
            )
    covered = cluster.partition_of()
    loose = [pod.pod_id for pod in cluster.pods if pod.pod_id not in covered]
    if loose:
        raise spec_error(
            f.at("partitions"),
            "a CL-4 cluster must place every pod in a CL-4 partition; not covered: "
            + ", ".join(loose[:5])
            + (" ..." if len(loose) > 5 else ""),
        )


# --- rebuilding from events -------------------------------------------------------------------


def facility_after(current: FacilitySpec | None, events: Iterable[Event]) -> FacilitySpec:
    """Apply inventory events to a spec, refusing any id held twice (as the tables do)."""
    cur = current or EMPTY_FACILITY
    sites = {s.site_id: s for s in cur.sites}
    clusters = {c.cluster_id: c for c in cur.clusters}
    for ev in events:
        if isinstance(ev, SiteDeclared):
            sites[ev.site_id] = SiteSpec(ev.site_id, ev.name, ev.host_member, ev.location)
        elif isinstance(ev, SiteRetired):
            del sites[ev.site_id]
        elif isinstance(ev, ClusterRetired):
            del clusters[ev.cluster_id]
        elif isinstance(ev, ClusterDeclared):
            cluster = cluster_from_event(ev)
            _check_free(clusters.values(), cluster)
            clusters[cluster.cluster_id] = cluster
    return FacilitySpec(tuple(sites.values()), tuple(clusters.values()))


def _check_free(existing: Iterable[ClusterSpec], cluster: ClusterSpec) -> None:
    taken = {k for c in existing if c.cluster_id != cluster.cluster_id for k in c.owned_ids()}
    clash = next((k for k in cluster.owned_ids() if k in taken), None)
    if clash is not None:
        raise ConflictError(f"cluster {cluster.cluster_id}: {clash} is held by another cluster")
