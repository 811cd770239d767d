"""The Council's enacted shares as a Slurm account tree, and keeping Slurm clusters in line.

Slurm's own fair-share (with slurmdbd) then ranks jobs the way pnyx's dispatcher does: the same
tree member > programme > project, the same share rule (:mod:`pnyx.services.share_history`: a
programme without an enacted member split is shared equally by all members; before any
programme share is enacted, a member's awarded programmes share it equally). Account names:
the member id, ``MEMBER.PROGRAMME`` (Slurm account names are global, so a programme is named
under each member), and the project id, which is what the dispatcher passes as ``--account``.
A project sits under the member and programme of its oldest award; projects under one
programme share it in proportion to their awarded accelerator-hours.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from pnyx.backends.base import Backend, BackendError
from pnyx.backends.slurm import SlurmBackend
from pnyx.backends.slurm_shares import AccountShare, mirror_shares
from pnyx.services import council_read, share_history
from pnyx.services.context import ServiceContext
from pnyx.store import allocation_repo, dispatch_repo

log = logging.getLogger(__name__)


def share_tree(ctx: ServiceContext) -> list[AccountShare]:
    """The account tree of the shares in force and the awarded projects (parents first)."""
    shares = council_read.enacted_shares(ctx)
    with ctx.db.read() as conn:
        members = dispatch_repo.member_ids(conn)
        awards = allocation_repo.award_rows(conn)
    targets = share_history.member_targets(shares.programmes, shares.members, members)
    projects = _projects(awards)
    tree: list[AccountShare] = []
    for member in members:
        tree.append(AccountShare(member.lower(), None, targets[member]))
        weights = share_history.programme_weights(
            shares.programmes, shares.members, member, members
        ) or _awarded_programmes(member, projects.values())
        for programme, weight in weights.items():
            tree.append(AccountShare(_programme_account(member, programme), member.lower(), weight))
    placed = {a.account for a in tree}
    leaves = {
        p.lower(): (_programme_account(m, prog), hours) for p, (m, prog, hours) in projects.items()
    }
    totals: dict[str, int] = {}
    for parent, hours in leaves.values():
        totals[parent] = totals.get(parent, 0) + hours
    for project, (parent, hours) in leaves.items():
        if parent in placed and project not in placed:
            share = hours / totals[parent] if totals[parent] else 1.0
            tree.append(AccountShare(project, parent, share))
            placed.add(project)
    return tree


def sync_slurm_accounts(
    ctx: ServiceContext,
    backends: Mapping[str, Backend],
    last: dict[str, tuple[AccountShare, ...]],
    users: Sequence[str] = ("root",),
) -> dict[str, list[list[str]]]:
    """Mirror :func:`share_tree` into every Slurm backend with accounting whose last mirrored
    tree (``last``, updated here) differs; cluster -> the sacctmgr commands run. A cluster that
    fails is logged and tried again on the next call."""
    tree = tuple(share_tree(ctx))
    done: dict[str, list[list[str]]] = {}
    for backend in backends.values():
        if not isinstance(backend, SlurmBackend) or not backend.config.accounting:
            continue
        if last.get(backend.name) == tree:
            continue
        try:
            done[backend.name] = mirror_shares(backend, tree, users=users)
        except BackendError as e:
            log.warning("shares not mirrored into %s: %s", backend.name, e)
            continue
        last[backend.name] = tree
    return done


def _awarded_programmes(member: str, projects: Iterable[tuple[str, str, int]]) -> dict[str, float]:
    """Before any programme share is enacted: the member's awarded programmes, equally."""
    names = sorted({programme for m, programme, _ in projects if m == member})
    return {name: 1.0 / len(names) for name in names}


def _programme_account(member: str, programme: str) -> str:
    return f"{member}.{programme}".lower()


def _projects(awards: Sequence[Mapping[str, object]]) -> dict[str, tuple[str, str, int]]:
    """project -> (member, programme of its oldest award, awarded hours over all its awards)."""
    out: dict[str, tuple[str, str, int]] = {}
    for award in awards:  # oldest first
        project = str(award["project_id"])
        hours = award["hours"]
        total = sum(int(h) for h in hours.values()) if isinstance(hours, Mapping) else 0
        member, programme, before = out.get(
            project, (str(award["member_id"]), str(award["programme_id"]), 0)
        )
        out[project] = (member, programme, before + total)
    return out
