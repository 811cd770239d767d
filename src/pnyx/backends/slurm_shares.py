"""Mirror the Council's enacted shares into Slurm associations (needs slurmdbd).

pnyx's fair-share tree is member > programme > project; Slurm's own fair-share (fair tree) then
agrees with pnyx when the same tree exists as Slurm accounts with the same relative weights.
:func:`plan_shares` (pure) compares the wanted tree with ``sacctmgr show associations`` and
returns the ``sacctmgr`` commands that close the gap; :func:`mirror_shares` runs them. Accounts
pnyx does not name are left alone. Shares become integer fairshare values (share x 10,000,
at least 1), relative among siblings as Slurm reads them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pnyx.backends.base import BackendError
from pnyx.backends.slurm import SlurmBackend

SHARE_SCALE = 10_000
ASSOC_FORMAT = "Account,ParentName,Fairshare,User"
_ACCOUNT = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class AccountShare:
    """One node of the share tree: a member, a programme under it, or a project under that."""

    account: str  # Slurm account name (lower case)
    parent: str | None  # None: directly under Slurm's root account
    share: float  # the enacted share, relative to its siblings

    def __post_init__(self) -> None:
        for name in (self.account, self.parent or "root"):
            if not _ACCOUNT.match(name):
                raise BackendError(
                    f"{name!r} cannot name a Slurm account: use lower-case letters, digits, "
                    "'_', '.', '-' (up to 64)"
                )
        if self.share < 0:
            raise BackendError(f"share of {self.account} must be >= 0, got {self.share}")

    @property
    def fairshare(self) -> int:
        """The share as Slurm's integer fairshare value."""
        return max(1, round(self.share * SHARE_SCALE))


@dataclass(frozen=True)
class Association:
    """One row of ``sacctmgr show associations`` (user '' for an account's own row)."""

    account: str
    parent: str
    fairshare: str
    user: str


def parse_associations(text: str) -> list[Association]:
    """Rows of ``sacctmgr -n -P show associations format=ASSOC_FORMAT``."""
    rows = []
    for line in text.splitlines():
        if line.strip():
            account, parent, fairshare, user = line.split("|")
            rows.append(Association(account, parent, fairshare, user))
    return rows


def plan_shares(
    tree: Sequence[AccountShare],
    existing: Sequence[Association],
    *,
    cluster: str,
    users: Sequence[str] = (),
) -> list[list[str]]:
    """sacctmgr argv lists that make the cluster's accounts match ``tree`` (parents first).

    ``users`` get an association with every leaf account (the ones jobs are charged to).
    """
    accounts = {a.account: a for a in existing if not a.user}
    user_rows = {(a.account, a.user) for a in existing if a.user}
    commands: list[list[str]] = []
    for node in _parents_first(tree):
        parent = node.parent or "root"
        have = accounts.get(node.account)
        if have is None:
            commands.append(
                ["sacctmgr", "-i", "add", "account", node.account, f"cluster={cluster}",
                 f"parent={parent}", f"fairshare={node.fairshare}"]
            )  # fmt: skip
        else:  # only what differs: sacctmgr answers "Nothing modified" to an unchanged parent
            changes = [f"parent={parent}"] if have.parent != parent else []
            if have.fairshare != str(node.fairshare):
                changes.append(f"fairshare={node.fairshare}")
            if changes:
                commands.append(
                    ["sacctmgr", "-i", "modify", "account", "where", f"name={node.account}",
                     f"cluster={cluster}", "set", *changes]
                )  # fmt: skip
    parents = {n.parent for n in tree}
    leaves = [n.account for n in tree if n.account not in parents]
    commands.extend(
        ["sacctmgr", "-i", "add", "user", user, f"account={leaf}", f"cluster={cluster}"]
        for leaf in leaves
        for user in users
        if (leaf, user) not in user_rows
    )
    return commands


def mirror_shares(
    backend: SlurmBackend, tree: Sequence[AccountShare], *, users: Sequence[str] = ()
) -> list[list[str]]:
    """Bring the Slurm accounts of ``backend``'s cluster in line with ``tree``; the commands run.

    Idempotent: a second call with the same tree runs no command.
    """
    if not backend.config.accounting:
        raise BackendError(f"cluster {backend.name} has no slurmdbd: shares cannot be mirrored")
    out = backend.run_slurm(
        ["sacctmgr", "-n", "-P", "show", "associations", f"cluster={backend.name}",
         f"format={ASSOC_FORMAT}"]
    )  # fmt: skip
    commands = plan_shares(tree, parse_associations(out), cluster=backend.name, users=users)
    for argv in commands:
        backend.run_slurm(argv, refuse=True)
    return commands


def _parents_first(tree: Sequence[AccountShare]) -> list[AccountShare]:
    by_name = {n.account: n for n in tree}
    if len(by_name) != len(tree):
        raise BackendError("the share tree names an account twice")
    ordered: list[AccountShare] = []
    placed: set[str] = set()

    def place(node: AccountShare, depth: int) -> None:
        if node.account in placed:
            return
        if depth > len(tree):
            raise BackendError(f"the share tree has a cycle through {node.account}")
        if node.parent in by_name:
            place(by_name[node.parent], depth + 1)
        ordered.append(node)
        placed.add(node.account)

    for node in tree:
        place(node, 0)
    return ordered
