"""Pure allocation rules: calls, proposals, reviewer assignment, ranking, awards, accounting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pnyx.domain import accounting as acc
from pnyx.domain import allocation as al
from pnyx.domain import awards as aw
from pnyx.domain import review as rv
from pnyx.domain.containment import ContainmentLevel
from pnyx.errors import ConflictError, InvalidInputError, PermissionDeniedError

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def spec(programme: str = "open-models", **kw: object) -> al.CallSpec:
    base: dict[str, object] = {
        "call_id": "c1",
        "programme_id": programme,
        "title": "T",
        "budget": {"h100": 100},
        "period_start": "2026-02-01",
        "period_end": "2026-03-01",
        "deadline": "2026-01-02T00:00:00Z",
        "review_deadline": "2026-01-03T00:00:00Z",
    }
    base.update(kw)
    return al.CallSpec(**base)  # type: ignore[arg-type]


def prop(requested: dict[str, int] | None = None, **kw: object) -> al.ProposalSpec:
    return al.ProposalSpec(
        "c1",
        "p",
        "T",
        "A",
        requested or {"h100": 10},
        ContainmentLevel.CL2,
        **kw,  # type: ignore[arg-type]
    )


# --- calls and proposals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"budget": {}}, "accelerator-hours per type"),
        ({"budget": {"h999": 1}}, "unknown accelerator type"),
        ({"budget": {"h100": 0}}, "positive integer"),
        ({"budget": {"h100": 1.5}}, "positive integer"),
        ({"period_end": "2026-01-01"}, "must follow start"),
        ({"deadline": "2026-01-02"}, "no time zone"),
        ({"deadline": "soon"}, "not an RFC 3339"),
        ({"review_deadline": "2026-01-01T00:00:00Z"}, "must follow the deadline"),
        ({"call_id": "Bad Id"}, "not a valid id"),
        ({"title": ""}, "call title"),
    ],
)
def test_bad_call_specs_are_refused(kw: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        spec(**kw)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"min_reviewers": 0}, "min_reviewers"),
        ({"score_min": 5, "score_max": 5}, "score scale"),
        ({"threshold": "6"}, "must lie in the score scale"),
        ({"threshold": "x"}, "not a decimal"),
    ],
)
def test_bad_review_policies_are_refused(policy: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        al.ReviewPolicy(**policy)  # type: ignore[arg-type]


def test_budget_keys_are_sorted_and_canonical() -> None:
    assert spec(budget={"h200": 1, "b200": 2}).budget == {"b200": 2, "h200": 1}


def test_submit_before_deadline_only() -> None:
    state = al.CallState(spec())
    event = al.decide_submit(state, prop(), "c1.001", "ada", "de", NOW)
    assert (event.member_id, event.containment) == ("de", "CL-2")
    with pytest.raises(ConflictError, match="closed"):
        al.decide_submit(state, prop(), "c1.001", "ada", "de", NOW + timedelta(days=1))
    closed = al.CallState(spec(), frozenset({"submission"}))
    with pytest.raises(ConflictError):
        al.decide_submit(closed, prop(), "c1.001", "ada", "de", NOW)


@pytest.mark.parametrize(("weights", "data"), [(False, True), (True, False), (False, False)])
def test_open_models_requires_openness(weights: bool, data: bool) -> None:
    state = al.CallState(spec())
    p = prop(weights_open=weights, data_open=data)
    with pytest.raises(
        InvalidInputError, match="requires releasing both weights and training data"
    ):
        al.decide_submit(state, p, "c1.001", "ada", "de", NOW)
    other = al.CallState(spec("safety-research"))
    assert al.decide_submit(other, p, "c1.001", "ada", "de", NOW).weights_open is weights


def test_requested_types_must_be_in_budget() -> None:
    with pytest.raises(InvalidInputError, match="not in the call's budget"):
        al.decide_submit(al.CallState(spec()), prop({"b200": 1}), "x", "ada", "de", NOW)


# --- reviewer assignment ------------------------------------------------------------------------

MEMBERS = ["de", "fr", "it", "es", "pl"]


@st.composite
def assignment_inputs(
    draw: st.DrawFn,
) -> tuple[list[rv.Candidate], list[rv.Reviewer], set[tuple[str, str]], int]:
    reviewers = [
        rv.Reviewer(f"r{i}", draw(st.sampled_from([*MEMBERS, None])))
        for i in range(draw(st.integers(3, 12)))
    ]
    candidates = [
        rv.Candidate(
            f"p{i}",
            draw(st.sampled_from([f"r{j}" for j in range(3)] + ["x", "y"])),
            draw(st.sampled_from(MEMBERS)),
        )
        for i in range(draw(st.integers(1, 15)))
    ]
    pairs = st.tuples(
        st.sampled_from([r.reviewer_id for r in reviewers]),
        st.sampled_from([c.proposal_id for c in candidates]),
    )
    conflicts = draw(st.sets(pairs, max_size=10))
    return candidates, reviewers, conflicts, draw(st.integers(1, 3))


@settings(max_examples=200, deadline=None)
@given(assignment_inputs())
def test_assignment_never_breaks_conflict_rules(
    data: tuple[list[rv.Candidate], list[rv.Reviewer], set[tuple[str, str]], int],
) -> None:
    candidates, reviewers, conflicts, k = data
    by_id = {r.reviewer_id: r for r in reviewers}
    try:
        plan = rv.assign_reviewers(candidates, reviewers, conflicts, k, "seed")
    except ConflictError:
        # only when some proposal really lacks k eligible reviewers
        assert any(sum(rv.is_eligible(r, c, conflicts) for r in reviewers) < k for c in candidates)
        return
    for cand in candidates:
        chosen = plan[cand.proposal_id]
        assert len(set(chosen)) == k
        for rid in chosen:
            assert rid != cand.proposer_id
            assert by_id[rid].member_id != cand.member_id
            assert (rid, cand.proposal_id) not in conflicts


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.integers(1, 12), st.integers(1, 4))
def test_assignment_balances_load_without_exclusions(n_props: int, n_revs: int, k: int) -> None:
    reviewers = [rv.Reviewer(f"r{i}", "neutral") for i in range(max(n_revs, k))]
    candidates = [rv.Candidate(f"p{i}", f"x{i}", MEMBERS[i % 5]) for i in range(n_props)]
    plan = rv.assign_reviewers(candidates, reviewers, set(), k, "call-7")
    load = {r.reviewer_id: 0 for r in reviewers}
    for chosen in plan.values():
        for rid in chosen:
            load[rid] += 1
    assert max(load.values()) - min(load.values()) <= 1
    assert rv.assign_reviewers(list(reversed(candidates)), reviewers, set(), k, "call-7") == plan


def test_assignment_depends_on_seed_only_deterministically() -> None:
    reviewers = [rv.Reviewer(f"r{i}", "x") for i in range(6)]
    candidates = [rv.Candidate(f"p{i}", "y", "de") for i in range(4)]
    a = rv.assign_reviewers(candidates, reviewers, set(), 2, "c1")
    assert a == rv.assign_reviewers(candidates, reviewers, set(), 2, "c1")
    assert any(
        rv.assign_reviewers(candidates, reviewers, set(), 2, f"c{i}") != a for i in range(2, 9)
    )


def test_review_must_be_assigned_and_in_scale() -> None:
    assigned = {"p": ["r1"]}
    assert rv.decide_review("c", "p", "r1", 5, "", assigned, (1, 5)).score == 5
    with pytest.raises(ConflictError):
        rv.decide_review("c", "p", "r2", 5, "", assigned, (1, 5))
    for bad in (0, 6, True):
        with pytest.raises(InvalidInputError):
            rv.decide_review("c", "p", "r1", bad, "", assigned, (1, 5))


# --- ranking and awards -------------------------------------------------------------------------


def scored(pid: str, seq: int, req: dict[str, int], *scores: int) -> aw.Scored:
    return aw.Scored(pid, seq, req, scores)


def test_ties_broken_by_submission_order_then_id() -> None:
    props = [
        scored("b", 2, {"h100": 1}, 4, 4),
        scored("a", 3, {"h100": 1}, 4, 4),
        scored("c", 1, {"h100": 1}, 3, 5),
    ]
    assert [p.proposal_id for p in aw.rank(props, 2)] == ["c", "b", "a"]


def test_partial_award_at_budget_edge_and_outcomes() -> None:
    props = [
        scored("a", 1, {"h100": 60}, 5, 5),
        scored("b", 2, {"h100": 60, "h200": 10}, 4, 5),
        scored("c", 3, {"h100": 10}, 4, 4),
        scored("d", 4, {"h100": 10}, 2, 2),
        scored("e", 5, {"h100": 10}, 5),
    ]
    ev = aw.decide_awards("c1", props, {"h100": 100, "h200": 50}, 2, Fraction(3))
    rows = {r["proposal_id"]: r for r in ev.results}
    assert rows["a"]["hours"] == {"h100": 60} and rows["a"]["outcome"] == "awarded"
    assert rows["b"]["hours"] == {"h100": 40, "h200": 10} and rows["b"]["outcome"] == "partial"
    assert rows["c"]["outcome"] == "budget-exhausted" and rows["c"]["hours"] == {}
    assert rows["d"]["outcome"] == "below-threshold"
    assert rows["e"]["outcome"] == "too-few-reviews" and rows["e"]["rank"] is None
    assert rows["b"]["mean"] == "4.500"
    assert ev.remaining == {"h100": 0, "h200": 40}


def test_format_decimal_rounds_half_up() -> None:
    assert aw.format_decimal(Fraction(11, 3)) == "3.667"
    assert aw.format_decimal(Fraction(1, 2000)) == "0.001"


hours_st = st.dictionaries(
    st.sampled_from(["h100", "h200", "b200"]), st.integers(1, 500), min_size=1
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(hours_st, st.lists(st.integers(1, 5), min_size=1, max_size=3)), max_size=12),
    hours_st,
)
def test_awards_never_exceed_budget_and_follow_rank(
    entries: list[tuple[dict[str, int], list[int]]], budget: dict[str, int]
) -> None:
    props = [scored(f"p{i:02d}", i, req, *s) for i, (req, s) in enumerate(entries)]
    ev = aw.decide_awards("c", props, budget, 1, Fraction(3))
    given_out: dict[str, int] = {}
    for row in ev.results:
        for kind, h in row["hours"].items():
            given_out[kind] = given_out.get(kind, 0) + h
    for kind in set(given_out) | set(budget):
        assert given_out.get(kind, 0) + ev.remaining.get(kind, 0) == budget.get(kind, 0)
        assert given_out.get(kind, 0) <= budget.get(kind, 0)
    # rank order: a proposal short of a type implies nothing of that type for anyone below it
    ranked = sorted((r for r in ev.results if r["rank"]), key=lambda r: r["rank"])
    req = {p.proposal_id: p.requested for p in props}
    for i, row in enumerate(ranked):
        for kind, want in req[row["proposal_id"]].items():
            if row["outcome"] != "below-threshold" and row["hours"].get(kind, 0) < want:
                assert all(later["hours"].get(kind, 0) == 0 for later in ranked[i + 1 :])


# --- accounting ---------------------------------------------------------------------------------


def test_decay_halves_after_one_half_life() -> None:
    assert acc.decay_factor(0, 100) == 1.0
    assert acc.decay_factor(100, 100) == 0.5
    assert acc.decay_factor(300, 100) == 0.125
    end = NOW
    records = [("p", 7200, end), ("p", 3600, end - timedelta(days=7)), ("q", 3600, end)]
    week = 7 * 86_400
    assert acc.decayed_usage(records, end, week) == {"p": 2.5, "q": 1.0}
    assert acc.decayed_usage(records, end + timedelta(days=7), week) == {"p": 1.25, "q": 0.5}
    with pytest.raises(InvalidInputError):
        acc.decay_factor(1, 0)


def test_admission_refuses_over_use() -> None:
    acc.check_admission("p", "h100", 4, 3600, awarded_hours=10, used_seconds=6 * 3600)
    with pytest.raises(
        PermissionDeniedError,
        match=r"has 4\.00 h100 accelerator-hours left, the job asks for 8\.00 \(8 x 3600 s\)",
    ):
        acc.check_admission("p", "h100", 8, 3600, awarded_hours=10, used_seconds=6 * 3600)
    with pytest.raises(InvalidInputError):
        acc.check_admission("p", "h100", 0, 3600, 10, 0)


def test_billing_weights_convert_credits() -> None:
    weights = acc.parse_weights({"h200": "1.3", "h100": 1})
    assert list(weights) == ["h100", "h200"]
    assert acc.credits_to_hours({"h200": 130, "h100": 5}, weights) == {"h200": 100, "h100": 5}
    assert acc.hours_to_credits({"h200": 100}, weights) == Fraction(130)
    with pytest.raises(InvalidInputError, match="no billing weight"):
        acc.credits_to_hours({"b200": 1}, weights)
    for bad in ({"h100": "0"}, {"h100": "x"}, {"zz": "1"}, {}):
        with pytest.raises(InvalidInputError):
            acc.parse_weights(bad)


def test_charge_awards_oldest_first_overflow_on_last() -> None:
    assert acc.charge_awards([("a", 1), ("b", 1)], 5400) == {"a": 3600, "b": 1800}
    assert acc.charge_awards([("a", 1), ("b", 1)], 9000) == {"a": 3600, "b": 5400}
    assert acc.charge_awards([("a", 1)], 0) == {"a": 0}


def test_usage_needs_award_and_sane_figures() -> None:
    ok = acc.decide_usage("u1", "p", "h100", 10, NOW, NOW + timedelta(hours=1), "j", {"h100"})
    assert ok.accel_seconds == 10
    with pytest.raises(InvalidInputError, match="no award"):
        acc.decide_usage("u1", "p", "h200", 10, NOW, NOW + timedelta(hours=1), "j", {"h100"})
    with pytest.raises(InvalidInputError, match="must follow"):
        acc.decide_usage("u1", "p", "h100", 10, NOW, NOW, "j", {"h100"})
    with pytest.raises(InvalidInputError, match="positive"):
        acc.decide_usage("u1", "p", "h100", 0, NOW, NOW + timedelta(hours=1), "j", {"h100"})
