"""Use cases for the facility inventory: load a facility file, and public reads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection

from pnyx.domain import inventory as d
from pnyx.domain.events import Event
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.domain.inventory_parse import parse_facility
from pnyx.domain.specs import type_name
from pnyx.errors import InvalidInputError, NotFoundError
from pnyx.services.context import ServiceContext
from pnyx.services.dto import Page
from pnyx.services.identity import _check_page
from pnyx.services.inventory_dto import (
    ClusterSummary,
    FacilitySummary,
    LoadResult,
    NodeView,
    PartitionView,
    PodView,
    SiteSummary,
)
from pnyx.services.record import record
from pnyx.store import identity_repo
from pnyx.store import inventory_repo as repo
from pnyx.store.eventstore import log_size

MAX_SPEC_BYTES = 4 * 1024 * 1024

try:
    from yaml import CSafeLoader as _YamlBase
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _YamlBase  # type: ignore[assignment]


def load_facility(ctx: ServiceContext, actor: Actor, spec: Mapping[str, Any]) -> LoadResult:
    """Declare the facility described by ``spec`` (operators); records only what changed."""
    require_role(actor, Role.OPERATOR)
    new = parse_facility(spec)
    with ctx.db.transaction() as conn:
        log_size(conn, lock=True)  # concurrent loads diff against the state they replace
        _require_hosts(conn, new)
        events = d.decide_load(repo.current_spec(conn), new)
        record(conn, ctx, actor, events)
    totals = d.count_totals(new)
    return LoadResult(
        events=len(events),
        declared=[_label(e) for e in events if isinstance(e, d.SiteDeclared | d.ClusterDeclared)],
        retired=[_label(e) for e in events if isinstance(e, d.SiteRetired | d.ClusterRetired)],
        sites=totals.sites,
        clusters=totals.clusters,
        pods=totals.pods,
        nodes=totals.nodes,
        accelerators=totals.accelerators,
        by_type=totals.by_type,
        warnings=d.expired_certificates(new, ctx.clock().astimezone(UTC).date()),
    )


def parse_facility_file(path: Path | str) -> Mapping[str, Any]:
    """Read a facility file (YAML, or JSON by its .json suffix) into a mapping."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise InvalidInputError(f"{path}: {size} bytes is over the {MAX_SPEC_BYTES} limit")
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidInputError(f"cannot read {path}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise InvalidInputError(f"{path}: not UTF-8 text ({e.reason})") from e
    return parse_facility_text(text, "json" if path.suffix == ".json" else "yaml", str(path))


def parse_facility_text(text: str, fmt: str, source: str) -> Mapping[str, Any]:
    """Parse a facility spec given as YAML or JSON text (``fmt``) into a mapping."""
    if fmt == "json":
        value = _load_json(text, source)
    elif fmt == "yaml":
        value = _load_yaml(text, source)
    else:
        raise InvalidInputError(f"{source}: unsupported format {fmt!r} (use yaml or json)")
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"{source}: expected a mapping with 'sites' at the top, got {type_name(value)}"
        )
    return value


def facility_summary(ctx: ServiceContext) -> FacilitySummary:
    """Every site with its clusters, and the facility's totals (public)."""
    with ctx.db.read() as conn:
        sites = _site_summaries(conn)
    return FacilitySummary(
        sites=sites,
        sites_count=len(sites),
        clusters_count=sum(len(s.clusters) for s in sites),
        pods=sum(s.pods for s in sites),
        nodes=sum(s.nodes for s in sites),
        accelerators=sum(s.accelerators for s in sites),
        by_type=_merge(s.by_type for s in sites),
    )


def get_site(ctx: ServiceContext, site_id: str) -> SiteSummary:
    """One site with its clusters (public)."""
    with ctx.db.read() as conn:
        sites = _site_summaries(conn, site_id)
    if not sites:
        raise NotFoundError(f"site {site_id!r} does not exist")
    return sites[0]


def get_cluster(ctx: ServiceContext, cluster_id: str) -> ClusterSummary:
    """One cluster with its partitions (public)."""
    with ctx.db.read() as conn:
        clusters = _cluster_summaries(conn, cluster_id=cluster_id)
    if not clusters:
        raise NotFoundError(f"cluster {cluster_id!r} does not exist")
    return clusters[0]


def list_pods(ctx: ServiceContext, cluster_id: str) -> list[PodView]:
    """A cluster's pods in declared order, with node and accelerator counts (public)."""
    with ctx.db.read() as conn:
        _require_cluster(conn, cluster_id)
        rows = repo.pod_stats(conn, cluster_id)
    pods: dict[str, PodView] = {}
    for r in rows:
        pod = pods.setdefault(
            r["pod_id"],
            PodView(
                pod_id=r["pod_id"],
                cluster_id=cluster_id,
                kind=r["kind"],
                nodes=0,
                accelerators=0,
                by_type={},
            ),
        )
        pod.nodes += int(r["nodes"])
        pod.accelerators += int(r["accelerators"])
        pod.by_type[r["accelerator_type"]] = int(r["accelerators"])
    return list(pods.values())


def list_nodes(
    ctx: ServiceContext, cluster_id: str | None = None, offset: int = 0, limit: int = 100
) -> Page[NodeView]:
    """Nodes by name, of one cluster or of the whole facility (public)."""
    _check_page(offset, limit)
    with ctx.db.read() as conn:
        if cluster_id is not None:
            _require_cluster(conn, cluster_id)
        rows, total = repo.node_page(conn, cluster_id, offset, limit)
    items = [NodeView(**r) for r in rows]
    return Page(items=items, total=total, offset=offset, limit=limit)


def _require_hosts(conn: Connection, spec: d.FacilitySpec) -> None:
    for i, site in enumerate(spec.sites):
        if identity_repo.member_row(conn, site.host_member) is None:
            raise NotFoundError(
                f"sites[{i}].host_member: member {site.host_member!r} does not exist "
                f"(admit it first: pnyx member admit {site.host_member} --name NAME)"
            )


def _require_cluster(conn: Connection, cluster_id: str) -> None:
    if not repo.cluster_rows(conn, cluster_id=cluster_id):
        raise NotFoundError(f"cluster {cluster_id!r} does not exist")


def _label(ev: Event) -> str:
    if isinstance(ev, d.ClusterDeclared | d.ClusterRetired):
        return f"cluster {ev.cluster_id}"
    assert isinstance(ev, d.SiteDeclared | d.SiteRetired)
    return f"site {ev.site_id}"


def _site_summaries(conn: Connection, site_id: str | None = None) -> list[SiteSummary]:
    clusters = _cluster_summaries(conn, site_id=site_id)
    out = []
    for row in repo.site_rows(conn, site_id):
        mine = [c for c in clusters if c.site_id == row["site_id"]]
        out.append(
            SiteSummary(
                site_id=row["site_id"],
                name=row["name"],
                host_member=row["host_member"],
                location=row["location"],
                clusters=mine,
                pods=sum(c.pods for c in mine),
                nodes=sum(c.nodes for c in mine),
                accelerators=sum(c.accelerators for c in mine),
                by_type=_merge(c.by_type for c in mine),
            )
        )
    return out


def _cluster_summaries(
    conn: Connection, site_id: str | None = None, cluster_id: str | None = None
) -> list[ClusterSummary]:
    rows = repo.cluster_rows(conn, site_id, cluster_id)
    if not rows:
        return []
    nodes: dict[str, int] = {}
    by_type: dict[str, dict[str, int]] = {}
    for cid, accel, count, accels in repo.node_stats(conn, site_id, cluster_id):
        nodes[cid] = nodes.get(cid, 0) + count
        by_type.setdefault(cid, {})[accel] = accels
    pods = repo.pod_counts(conn, site_id, cluster_id)
    parts: dict[str, list[PartitionView]] = {}
    for p in repo.partition_stats(conn, site_id, cluster_id):
        parts.setdefault(p.pop("cluster_id"), []).append(PartitionView(**p))
    return [
        ClusterSummary(
            **{k: r[k] for k in _CLUSTER_FIELDS},
            pods=pods.get(r["cluster_id"], 0),
            nodes=nodes.get(r["cluster_id"], 0),
            accelerators=sum(by_type.get(r["cluster_id"], {}).values()),
            by_type=dict(sorted(by_type.get(r["cluster_id"], {}).items())),
            partitions=parts.get(r["cluster_id"], []),
        )
        for r in rows
    ]


_CLUSTER_FIELDS = (
    "cluster_id",
    "site_id",
    "name",
    "engine",
    "interconnect",
    "containment",
    "physically_separate",
)


def _merge(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in counts:
        for k, v in c.items():
            total[k] = total.get(k, 0) + v
    return dict(sorted(total.items()))


class _SpecLoader(_YamlBase):
    """Safe YAML that refuses duplicate keys and keeps dates as text (JSON-ready values)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _YamlBase.yaml_implicit_resolvers.items()
}


def _load_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_SpecLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InvalidInputError(f"{source}: malformed YAML: {problem}{where}") from e


def _load_json(text: str, source: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            dup = next(k for i, (k, _) in enumerate(pairs) if k in dict(pairs[:i]))
            raise InvalidInputError(f"{source}: malformed JSON: duplicate key {dup!r}")
        return out

    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as e:
        raise InvalidInputError(
            f"{source}: malformed JSON: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from e
