"""Rules as data: parsing, validation (broken rules MUST fail), presets, exact thresholds."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pnyx.domain.governance import (
    PRESETS,
    Abstention,
    Base,
    Clause,
    Comparison,
    Measure,
    Rule,
    load_rule,
    parse_ballots,
    parse_electorate,
    parse_fraction,
    parse_rule,
    tally,
)
from pnyx.errors import InvalidInputError

COUNT_55 = {"by": "count", "threshold": "55%", "base": "absolute"}
POP_65 = {"by": "weight", "key": "population", "threshold": "65%", "base": "absolute"}


def rule(**overrides: Any) -> dict[str, Any]:
    """A valid rule mapping with ``overrides`` applied (a key set to None is dropped)."""
    base: dict[str, Any] = {"name": "r", "abstention": "counts-as-no", "majority": [COUNT_55]}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


# --- exact numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("55%", Fraction(11, 20)),
        ("55 %", Fraction(11, 20)),
        ("2/3", Fraction(2, 3)),
        ("0.55", Fraction(11, 20)),
        (0.55, Fraction(11, 20)),  # the float's decimal text, not its binary value
        (0.1, Fraction(1, 10)),
        (1, Fraction(1)),
        ("66.67%", Fraction(6667, 10000)),
        (Fraction(1, 3), Fraction(1, 3)),
    ],
)
def test_parse_fraction_is_exact(text: object, want: Fraction) -> None:
    assert parse_fraction(text, "x") == want


@pytest.mark.parametrize(
    "bad", ["abc", "", "1/0", "%", True, None, [1], float("nan"), float("inf")]
)
def test_parse_fraction_refuses_non_numbers(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="x"):
        parse_fraction(bad, "x")


def test_comparison_at_least_and_more_than_differ_exactly_at_the_threshold() -> None:
    t = Fraction(2, 3)
    assert Comparison.AT_LEAST.holds(Fraction(2, 3), t)
    assert not Comparison.MORE_THAN.holds(Fraction(2, 3), t)
    assert Comparison.MORE_THAN.holds(Fraction(2, 3) + Fraction(1, 10**12), t)


# --- parsing -------------------------------------------------------------------------------


def test_parse_rule_reads_every_clause() -> None:
    r = parse_rule(
        {
            "name": "double",
            "description": "d",
            "abstention": "quorum-only",
            "quorum": [
                {"by": "count", "threshold": "1/2"},
                {"by": "weight", "key": "population", "threshold": 0.5, "comparison": ">"},
            ],
            "majority": [COUNT_55, POP_65],
            "blocking_minority": {"min_members": 4},
            "unanimity": False,
            "electorate": {"positive_weight": ["contribution"], "suspended": ["HU"]},
        }
    )
    assert r.abstention is Abstention.QUORUM_ONLY
    assert [c.name for c in r.quorum] == ["quorum:count", "quorum:weight:population"]
    assert r.quorum[1].comparison is Comparison.MORE_THAN
    assert r.majority[1].by is Measure.WEIGHT and r.majority[1].base is Base.ABSOLUTE
    assert r.majority[0].threshold == Fraction(11, 20)
    assert r.blocking_minority is not None and r.blocking_minority.min_members == 4
    assert r.electorate.suspended == ("HU",)
    assert r.weight_keys() == ("population",)


def test_a_single_clause_may_be_given_without_a_list() -> None:
    assert parse_rule(rule(majority=COUNT_55)).majority[0].name == "majority:count"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip_through_their_mapping(name: str) -> None:
    assert parse_rule(PRESETS[name].to_mapping()) == PRESETS[name]


def test_eu_qmv_preset_is_the_treaty_rule() -> None:
    r = PRESETS["eu-qmv"]
    count, pop = r.majority
    assert (count.threshold, count.base, count.comparison) == (
        Fraction(55, 100),
        Base.ABSOLUTE,
        Comparison.AT_LEAST,
    )
    assert (pop.key, pop.threshold, pop.base) == ("population", Fraction(65, 100), Base.ABSOLUTE)
    assert r.abstention is Abstention.COUNTS_AS_NO
    assert r.blocking_minority is not None and r.blocking_minority.min_members == 4
    assert r.quorum == ()


def test_skao_budget_preset_has_two_thirds_everywhere() -> None:
    r = PRESETS["skao-budget"]
    assert [c.threshold for c in (*r.quorum, *r.majority)] == [Fraction(2, 3)] * 3
    assert {c.base for c in r.majority} == {Base.VOTING}
    assert r.abstention is Abstention.QUORUM_ONLY
    assert r.weight_keys() == ("contribution",)


def test_load_rule_by_name_and_extends() -> None:
    assert load_rule("unanimity") is PRESETS["unanimity"]
    r = load_rule({"extends": "eu-qmv", "electorate": {"suspended": ["HU"]}})
    assert r.name == "eu-qmv"
    assert r.electorate.suspended == ("HU",)
    assert r.majority == PRESETS["eu-qmv"].majority


# --- broken rules MUST fail (wantErr vectors) -----------------------------------------------

BROKEN: list[tuple[str, dict[str, Any], str]] = [
    ("unknown top key", rule(treshold="55%"), "unknown key(s) 'treshold'"),
    ("unknown clause key", rule(majority=[{**COUNT_55, "weight": 1}]), "majority[0]: unknown"),
    ("threshold > 1", rule(majority=[{**COUNT_55, "threshold": "3/2"}]), "outside 0..1"),
    ("threshold > 100 %", rule(majority=[{**COUNT_55, "threshold": "120%"}]), "outside 0..1"),
    ("threshold float > 1", rule(majority=[{**COUNT_55, "threshold": 1.5}]), "outside 0..1"),
    ("negative threshold", rule(quorum=[{"by": "count", "threshold": -0.1}]), "outside 0..1"),
    ("threshold text", rule(majority=[{**COUNT_55, "threshold": "most"}]), "not a number"),
    ("> 100 %", rule(majority=[{**COUNT_55, "threshold": 1, "comparison": ">"}]), "never"),
    (">= 0", rule(majority=[{**COUNT_55, "threshold": 0}]), "always met"),
    ("weight without key", rule(majority=[{**POP_65, "key": None}]), "needs 'key'"),
    ("count with key", rule(majority=[{**COUNT_55, "key": "population"}]), "needs 'key'"),
    ("majority without base", rule(majority=[{"by": "count", "threshold": "1/2"}]), "'base'"),
    ("quorum with base", rule(quorum=[{**COUNT_55}]), "unknown key(s) 'base'"),
    ("unknown abstention", rule(abstention="ignored"), "abstention: 'ignored' is not one of"),
    ("unknown base", rule(majority=[{**COUNT_55, "base": "present"}]), "base: 'present'"),
    ("unknown comparison", rule(majority=[{**COUNT_55, "comparison": "=>"}]), "comparison"),
    ("unknown measure", rule(majority=[{**COUNT_55, "by": "seats"}]), "by: 'seats'"),
    ("nothing to pass", rule(majority=None), "at least one 'majority'"),
    ("empty majority list", rule(majority=[]), "at least one 'majority'"),
    ("duplicate clause", rule(majority=[COUNT_55, COUNT_55]), "same thing"),
    (
        "incl-abstentions but not counted",
        rule(abstention="not-counted", majority=[{**COUNT_55, "base": "voting-incl-abstentions"}]),
        "use base 'voting'",
    ),
    ("blocking minority without weight", rule(blocking_minority={"min_members": 4}), "weight"),
    (
        "blocking minority zero",
        rule(majority=[COUNT_55, POP_65], blocking_minority={"min_members": 0}),
        "min_members must be",
    ),
    (
        "blocking minority auto on voting base",
        rule(majority=[{**POP_65, "base": "voting"}], blocking_minority={"min_members": "auto"}),
        "'auto' needs",
    ),
    ("blocking minority empty", rule(majority=[POP_65], blocking_minority={}), "min_members"),
    ("unanimity not a bool", rule(unanimity="yes"), "unanimity must be true or false"),
    ("missing name", rule(name=None), "needs 'name'"),
    ("missing abstention", rule(abstention=None), "needs 'abstention'"),
    ("bad name", rule(name="EU QMV!"), "rule name"),
    ("electorate unknown key", rule(electorate={"only": ["x"]}), "unknown key(s) 'only'"),
    ("suspended not a list", rule(electorate={"suspended": [1]}), "list of strings"),
    ("extends in parse_rule", rule(extends="eu-qmv"), "load_rule"),
]


@pytest.mark.parametrize(("case", "mapping", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_rules_fail_with_a_clear_message(
    case: str, mapping: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_rule(mapping)
    assert message in str(err.value), case


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("eu", "unknown rule preset 'eu'"),
        ({"extends": "nope"}, "unknown rule preset 'nope'"),
        ({"extends": 3}, "'extends' must name a preset"),
        ({"extends": "eu-qmv", "quorum": [{"by": "count"}]}, "quorum[0] needs 'threshold'"),
        ([1, 2], "a preset name or a mapping"),
    ],
)
def test_load_rule_refuses_bad_specs(spec: Any, message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        load_rule(spec)
    assert message in str(err.value)


def test_a_rule_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="must be a mapping"):
        parse_rule(["eu-qmv"])


# --- round trip for generated rules --------------------------------------------------------

thresholds = st.fractions(min_value=Fraction(1, 100), max_value=Fraction(99, 100))
clause_kw = st.fixed_dictionaries(
    {"threshold": thresholds.map(str), "comparison": st.sampled_from([">=", ">"])}
)


@st.composite
def rule_mappings(draw: st.DrawFn) -> dict[str, Any]:
    abstention = draw(st.sampled_from(["counts-as-no", "quorum-only", "not-counted"]))
    bases = ["absolute", "voting"] + (
        ["voting-incl-abstentions"] if abstention != "not-counted" else []
    )
    base = draw(st.sampled_from(bases))
    majority = [{"by": "count", "base": base, **draw(clause_kw)}]
    if draw(st.booleans()):
        majority.append({"by": "weight", "key": "population", "base": base, **draw(clause_kw)})
    quorum = [{"by": "count", **draw(clause_kw)}] if draw(st.booleans()) else []
    out: dict[str, Any] = {"name": "g", "abstention": abstention, "majority": majority}
    out["quorum"] = quorum
    if len(majority) == 2 and draw(st.booleans()):
        out["blocking_minority"] = {"min_members": draw(st.integers(1, 5))}
    out["unanimity"] = draw(st.booleans())
    return out


@given(rule_mappings())
def test_generated_rules_round_trip(mapping: dict[str, Any]) -> None:
    r = parse_rule(mapping)
    again = parse_rule(r.to_mapping())
    assert again == r
    assert again.to_mapping() == r.to_mapping()


def test_python_construction_normalises_plain_values() -> None:
    c = Clause("majority", "weight", "65%", key="population", base="absolute")  # type: ignore[arg-type]
    r = Rule("r", "counts-as-no", majority=[c])  # type: ignore[arg-type]
    assert r.abstention is Abstention.COUNTS_AS_NO and r.majority == (c,)
    assert (c.by, c.base, c.threshold, c.comparison) == (
        Measure.WEIGHT,
        Base.ABSOLUTE,
        Fraction(13, 20),
        Comparison.AT_LEAST,
    )
    assert hash(r) == hash(Rule("r", Abstention.COUNTS_AS_NO, majority=(c,)))
    with pytest.raises(InvalidInputError, match="abstention: 'sometimes'"):
        Rule("r", "sometimes", majority=[c])  # type: ignore[arg-type]


@settings(max_examples=200)
@given(rule_mappings(), st.lists(st.sampled_from(["yes", "no", "abstain", None]), max_size=8))
def test_generated_rules_are_total(mapping: dict[str, Any], choices: list[str | None]) -> None:
    r = parse_rule(mapping)
    members = [{"id": f"m{i}", "weights": {"population": i % 3}} for i in range(len(choices))]
    cast = [{"member": f"m{i}", "choice": c} for i, c in enumerate(choices) if c is not None]
    t = tally(r, parse_electorate({"members": members}), parse_ballots(cast))
    assert t.counts.electorate == len(choices)
    assert t.passed == (t.quorum_reached and all(c.holds for c in t.clauses))
    assert t.decided_by in {"quorum", "blocking-minority", *(c.clause for c in t.clauses)}
