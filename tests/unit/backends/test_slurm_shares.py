"""Planning the sacctmgr commands that mirror the Council's shares into Slurm accounts."""

from __future__ import annotations

import pytest

from pnyx.backends.base import BackendError
from pnyx.backends.slurm_shares import (
    AccountShare,
    Association,
    parse_associations,
    plan_shares,
)

TREE = [
    AccountShare("proj-a", "open-models", 0.75),  # listed before its parents on purpose
    AccountShare("open-models", "de", 0.6),
    AccountShare("de", None, 0.21),
    AccountShare("proj-b", "open-models", 0.25),
]


def test_an_empty_cluster_gets_every_account_parents_first_and_users_on_leaves() -> None:
    existing = parse_associations("root||1|\nroot||1|root\n")
    commands = plan_shares(TREE, existing, cluster="alpha", users=["root"])
    added = [c[4] for c in commands if c[2:4] == ["add", "account"]]
    assert added == ["de", "open-models", "proj-a", "proj-b"]
    assert ["sacctmgr", "-i", "add", "account", "de", "cluster=alpha", "parent=root",
            "fairshare=2100"] in commands  # fmt: skip
    users = [c for c in commands if c[2:4] == ["add", "user"]]
    assert sorted(c[5] for c in users) == ["account=proj-a", "account=proj-b"]


def test_a_cluster_already_in_line_needs_no_command() -> None:
    existing = [
        Association("root", "", "1", ""),
        Association("de", "root", "2100", ""),
        Association("open-models", "de", "6000", ""),
        Association("proj-a", "open-models", "7500", ""),
        Association("proj-b", "open-models", "2500", ""),
        Association("proj-a", "", "1", "root"),
        Association("proj-b", "", "1", "root"),
    ]
    assert plan_shares(TREE, existing, cluster="alpha", users=["root"]) == []


def test_a_changed_share_or_parent_is_modified_not_added() -> None:
    existing = [
        Association("de", "root", "2100", ""),
        Association("open-models", "de", "5000", ""),  # share changed
        Association("proj-a", "root", "7500", ""),  # wrong parent
        Association("proj-b", "open-models", "2500", ""),
    ]
    commands = plan_shares(TREE, existing, cluster="alpha")
    assert [c[2] for c in commands] == ["modify", "modify"]
    assert commands[0][-2:] == ["set", "fairshare=6000"] and "name=open-models" in commands[0]
    assert commands[1][-2:] == ["set", "parent=open-models"] and "name=proj-a" in commands[1]


@pytest.mark.parametrize(
    "tree",
    [
        [AccountShare("a", "b", 1.0), AccountShare("b", "a", 1.0)],
        [AccountShare("a", None, 1.0), AccountShare("a", None, 0.5)],
    ],
)
def test_cycles_and_duplicates_are_refused(tree: list[AccountShare]) -> None:
    with pytest.raises(BackendError):
        plan_shares(tree, [], cluster="alpha")


@pytest.mark.parametrize("name", ["DE", "has space", "", "x;rm"])
def test_account_names_slurm_cannot_hold_are_refused(name: str) -> None:
    with pytest.raises(BackendError, match="Slurm account"):
        AccountShare(name, None, 1.0)


def test_tiny_shares_still_get_a_positive_fairshare() -> None:
    assert AccountShare("x", None, 0.00001).fairshare == 1
    assert AccountShare("x", None, 0.5).fairshare == 5000
