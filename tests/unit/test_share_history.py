"""Members' shares of the facility from enacted shares, and usage spread over days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pnyx.services.share_history import (
    Enactment,
    ShareState,
    member_targets,
    programme_weights,
    state_at,
    state_before,
)
from pnyx.services.statement_shares import enacted_by_day, spread_by_day
from pnyx.web.seriesplot import Series, render_paired_bars, render_series_chart

MEMBERS = ("a", "b", "c")


def test_targets_weigh_programme_and_member_shares() -> None:
    programmes = {"p": 0.5, "q": 0.5}
    split = {"p": {"a": 0.6, "b": 0.4}, "q": {"c": 1.0}}
    assert member_targets(programmes, split, MEMBERS) == pytest.approx(
        {"a": 0.3, "b": 0.2, "c": 0.5}
    )


def test_unsplit_programmes_are_open_to_all_equally() -> None:
    targets = member_targets({"p": 0.4, "q": 0.6}, {"p": {"a": 1.0}}, MEMBERS)
    assert targets == pytest.approx({"a": 0.4 + 0.2, "b": 0.2, "c": 0.2})


def test_nothing_enacted_means_equal_and_split_alone_weighs_programmes_equally() -> None:
    assert member_targets({}, {}, MEMBERS) == pytest.approx(dict.fromkeys(MEMBERS, 1 / 3))
    doubled = {"p": {"a": 0.5, "b": 0.25, "c": 0.25}}
    assert member_targets({}, doubled, MEMBERS) == pytest.approx(doubled["p"])


def test_programme_weights_split_a_members_compute() -> None:
    split = {"p": {"a": 0.6, "b": 0.4}}
    weights = programme_weights({"p": 0.5, "q": 0.5}, split, "a", MEMBERS)
    assert weights == pytest.approx({"p": 0.3 / (0.3 + 0.5 / 3), "q": (0.5 / 3) / (0.3 + 0.5 / 3)})


def test_state_at_and_before() -> None:
    s1 = ShareState({"p": 1.0}, {})
    s2 = ShareState({"p": 1.0}, {"p": {"a": 1.0}})
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    history = [Enactment(t1, "r1", s1), Enactment(t2, "r2", s2)]
    assert state_at(history, datetime(2025, 1, 1, tzinfo=UTC)) == ShareState()
    assert state_at(history, t2) == s2
    assert state_before(history, "r2") == s1 and state_before(history, "r9") is None
    days = enacted_by_day(history, MEMBERS, [date(2026, 1, 1), date(2026, 1, 2)])
    assert days[date(2026, 1, 1)]["a"] == pytest.approx(1 / 3)
    assert days[date(2026, 1, 2)]["a"] == pytest.approx(1.0)


def test_usage_is_spread_over_utc_days() -> None:
    start = datetime(2026, 1, 1, 18, tzinfo=UTC)
    end = datetime(2026, 1, 2, 6, tzinfo=UTC)
    inside = (datetime(2026, 1, 3, 1, tzinfo=UTC), datetime(2026, 1, 3, 2, tzinfo=UTC))
    out = spread_by_day([("a", 1200, start, end), ("a", 77, *inside)])
    assert out == pytest.approx(
        {
            ("a", date(2026, 1, 1)): 600.0,
            ("a", date(2026, 1, 2)): 600.0,
            ("a", date(2026, 1, 3)): 77,
        }
    )


def test_charts_carry_their_values_and_escape_names() -> None:
    svg = render_series_chart(
        ["d1", "d2"], [Series("<x>", [0.25, None])], title="t", y_label="y", id_prefix="c"
    )
    assert 'data-name="&lt;x&gt;" data-values="0.25,"' in svg and "<x>" not in svg
    bars = render_paired_bars([("a", 0.1, 0.3)], title="t", id_prefix="b")
    assert 'data-before="0.1" data-after="0.3"' in bars
    assert "no data" in render_series_chart([], [], title="t", y_label="y", id_prefix="e")
