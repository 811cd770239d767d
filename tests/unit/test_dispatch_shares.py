"""The dispatcher's fair-tree targets follow the same share rule as statements and previews."""

from __future__ import annotations

import pytest

from pnyx.services import share_history
from pnyx.services.dispatch_order import _tree_shares

PROGRAMMES = {"open": 0.5, "sme": 0.5}
SPLIT = {"open": {"de": 1.0}}  # sme has no enacted split: all members share it equally
MEMBERS = ["de", "fr"]


def test_unsplit_programme_is_shared_by_every_member() -> None:
    ids = [{"de": 0, "fr": 1}, {"open": 0, "sme": 1}, {}, {}]
    tree = _tree_shares(PROGRAMMES, SPLIT, MEMBERS, ids)
    assert tree[(0,)] == pytest.approx(0.75)
    assert tree[(1,)] == pytest.approx(0.25)
    assert tree[(1, 1)] == pytest.approx(1.0)  # fr's whole share comes from sme
    assert tree[(0, 0)] == pytest.approx(0.5 / 0.75)
    assert tree[(0, 1)] == pytest.approx(0.25 / 0.75)
    assert (1, 0) not in tree  # fr has no share of open


def test_targets_equal_the_statement_rule() -> None:
    ids = [{"de": 0, "fr": 1}, {"open": 0, "sme": 1}, {}, {}]
    tree = _tree_shares(PROGRAMMES, SPLIT, MEMBERS, ids)
    targets = share_history.member_targets(PROGRAMMES, SPLIT, MEMBERS)
    assert {m: tree[(i,)] for m, i in ids[0].items()} == pytest.approx(targets)


def test_only_members_and_programmes_in_the_queue_get_nodes() -> None:
    ids = [{"fr": 0, "": 1}, {"sme": 0}, {}, {}]  # "" = a job whose award has no owner
    tree = _tree_shares(PROGRAMMES, SPLIT, MEMBERS, ids)
    assert set(tree) == {(0,), (0, 0)}
