"""Pure view helpers of the portal: paging, certificate status, shares, event bodies."""

from __future__ import annotations

import pytest

from pnyx.web.views import Pager, certificate_status, format_body, share_pct, type_order


@pytest.mark.parametrize(
    ("offset", "limit", "total", "newer", "older"),
    [
        (0, 50, 0, None, None),
        (0, 50, 50, None, None),
        (0, 50, 51, None, 50),
        (50, 50, 120, 0, 100),
        (100, 50, 120, 50, None),
        (30, 50, 120, 0, 80),
    ],
)
def test_pager_links(
    offset: int, limit: int, total: int, newer: int | None, older: int | None
) -> None:
    pager = Pager(offset, limit, total)
    assert (pager.newer_offset, pager.older_offset) == (newer, older)


@pytest.mark.parametrize(
    ("expires", "today", "status"),
    [
        (None, "2026-01-01", "none"),
        ("2025-12-31", "2026-01-01T00:00:00.000000Z", "expired"),
        ("2026-01-01", "2026-01-01T23:59:59.000000Z", "valid"),
        ("2027-06-30T00:00:00Z", "2026-01-01", "valid"),
        ("next spring", "2026-01-01", "unknown"),
    ],
)
def test_certificate_status(expires: str | None, today: str, status: str) -> None:
    assert certificate_status(expires, today) == status


def test_share_pct() -> None:
    assert share_pct(1, 3) == "33.3%"
    assert share_pct(0, 0) == "-"


def test_format_body_is_stable_and_keeps_unicode() -> None:
    assert format_body({"b": 1, "a": "Jülich"}) == '{"a": "Jülich", "b": 1}'


def test_type_order_sums_across_mappings() -> None:
    assert type_order([{"h100": 5, "b200": 1}, {"b200": 10, "x": 0}]) == ["b200", "h100"]
