"""The enacted shares as a Slurm account tree, mirrored into the real test cluster's slurmdbd."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.backends.slurm_support import make_slurm_backend

from pnyx.backends.slurm_shares import ASSOC_FORMAT, parse_associations
from pnyx.domain.identity import Actor
from pnyx.services import awards, share_history
from pnyx.services.context import ServiceContext
from pnyx.services.demo_allocation import run_allocation_demo
from pnyx.services.identity import admit_member
from pnyx.services.slurm_accounts import share_tree, sync_slurm_accounts

SYSTEM = Actor.system()
MEMBERS = ("de", "es", "fr", "it", "pl")


def awarded(ctx: ServiceContext) -> None:
    for member in MEMBERS:
        admit_member(ctx, SYSTEM, member, member.upper())
    run_allocation_demo(ctx)


def test_tree_follows_the_share_rule_and_the_awards(ctx: ServiceContext) -> None:
    awarded(ctx)
    tree = {a.account: a for a in share_tree(ctx)}
    members = [tree[m] for m in MEMBERS]
    assert all(m.parent is None for m in members)
    targets = share_history.member_targets({}, {}, list(MEMBERS))
    assert {m.account: m.share for m in members} == pytest.approx(targets)
    by_project: dict[str, list[str]] = {}
    for award in awards.list_awards(ctx):  # oldest first
        by_project.setdefault(award.project_id, []).append(
            f"{award.member_id}.{award.programme_id}"
        )
    assert by_project  # the demo publishes awards
    for project, parents in by_project.items():
        assert tree[project].parent == parents[0]  # under its oldest award's member.programme
    siblings: dict[str, float] = {}
    for node in tree.values():
        if node.account in by_project:
            siblings[node.parent or ""] = siblings.get(node.parent or "", 0.0) + node.share
    assert all(total == pytest.approx(1.0) for total in siblings.values())


@pytest.mark.slurm
def test_sync_creates_the_accounts_once(ctx: ServiceContext, tmp_path: Path) -> None:
    awarded(ctx)
    backend = make_slurm_backend(tmp_path)
    last: dict[str, tuple] = {}  # type: ignore[type-arg]
    first = sync_slurm_accounts(ctx, {"de-booster": backend}, last)
    assert backend.name in first and backend.name in last
    assert sync_slurm_accounts(ctx, {"de-booster": backend}, last) == {}  # unchanged tree
    again = sync_slurm_accounts(ctx, {"de-booster": backend}, {})  # forgot: Slurm has them
    assert again == {backend.name: []}
    out = backend.run_slurm(
        ["sacctmgr", "-n", "-P", "show", "associations", f"format={ASSOC_FORMAT}"]
    )
    rows = {(a.account, a.user): a for a in parse_associations(out)}
    for node in share_tree(ctx):
        row = rows[(node.account, "")]
        assert row.parent == (node.parent or "root")
        assert row.fairshare == str(node.fairshare)
