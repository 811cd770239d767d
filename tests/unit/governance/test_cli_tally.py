"""`pnyx council tally` on the example files: JSON keys, outcomes, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pnyx.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "council"
ELECTORATE = str(EXAMPLES / "electorate-eu27.json")
runner = CliRunner()


def tally(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["council", "tally", *args])
    return result.exit_code, result.stdout, result.stderr


def tally_json(rule: str, ballots: str, electorate: str = ELECTORATE) -> dict[str, Any]:
    code, out, err = tally(
        "--rule", rule, "--electorate", electorate, "--ballots", ballots, "--json"
    )
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("ballots", "passed", "decided_by"),
    [
        ("ballots-eu-qmv-pass.json", True, "majority:weight:population"),
        ("ballots-eu-qmv-fail-population.json", False, "majority:weight:population"),
        ("ballots-eu-qmv-small-blocking-minority.json", True, "blocking-minority"),
    ],
)
def test_eu_examples_give_the_documented_outcome(
    ballots: str, passed: bool, decided_by: str
) -> None:
    out = tally_json("eu-qmv", str(EXAMPLES / ballots))
    assert (out["passed"], out["decided_by"]) == (passed, decided_by)
    assert {"passed", "decided_by", "counts", "weights", "clauses", "quorum_reached"} <= set(out)
    assert out["counts"]["electorate"] == 27


def test_population_failure_reports_the_figures() -> None:
    out = tally_json("eu-qmv", str(EXAMPLES / "ballots-eu-qmv-fail-population.json"))
    count, pop = out["clauses"]
    assert (count["met"], count["share"]["fraction"]) == (True, "22/27")
    assert pop["met"] is False and pop["threshold"] == {"fraction": "13/20", "float": 0.65}
    assert pop["numerator"]["fraction"] == "259723296"  # 449,223,692 - DE, FR, NL, AT, SE
    assert out["blocking_minority"] == {
        "min_members": 4, "against_members": 5, "formed": True, "rescued": []
    }  # fmt: skip
    assert out["weights"]["population"]["total"]["fraction"] == "449223692"


def test_yaml_rule_file_with_a_suspension() -> None:
    out = tally_json(
        str(EXAMPLES / "rule-eu-qmv-hu-suspended.yaml"),
        str(EXAMPLES / "ballots-eu-qmv-small-blocking-minority.json"),
    )
    assert (out["rule"], out["passed"], out["decided_by"]) == (
        "eu-qmv-hu-suspended",
        True,
        "blocking-minority",
    )
    assert out["excluded"] == [{"member": "HU", "reason": "suspended"}]
    assert out["ignored_ballots"] == [{"member": "HU", "choice": "yes"}]
    assert out["blocking_minority"]["min_members"] == 4


@pytest.mark.parametrize("preset", ["simple-majority", "skao-budget", "unanimity"])
def test_other_presets_run_on_the_examples(preset: str) -> None:
    out = tally_json(preset, str(EXAMPLES / "ballots-eu-qmv-pass.json"))
    assert out["rule"] == preset
    assert out["passed"] is (preset != "unanimity")  # IE abstains, MT absent, 3 no


def test_human_summary_names_the_outcome_and_the_deciding_clause() -> None:
    code, out, _ = tally(
        "--rule", "eu-qmv", "--electorate", ELECTORATE,
        "--ballots", str(EXAMPLES / "ballots-eu-qmv-small-blocking-minority.json"),
    )  # fmt: skip
    assert code == 0
    assert "PASSED under rule eu-qmv, decided by blocking-minority" in out
    assert "blocking minority not formed: 3 member(s) against" in out


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def broken_cases(tmp_path: Path) -> list[tuple[list[str], str]]:
    ok_ballots = str(EXAMPLES / "ballots-eu-qmv-pass.json")
    bad_json = write(tmp_path, "bad.json", '{"members": [')
    bad_rule = write(tmp_path, "rule.yaml", "name: r\nabstention: counts-as-no\nmajorty: []\n")
    big = write(
        tmp_path,
        "big.yaml",
        "extends: eu-qmv\nmajority: [{by: count, threshold: 3/2, base: voting}]\n",
    )
    stranger = write(tmp_path, "b.json", json.dumps([{"member": "UK", "choice": "yes"}]))
    no_pop = write(tmp_path, "e.json", json.dumps({"members": [{"id": "DE", "weights": {}}]}))
    return [
        (["--rule", "eu", "--electorate", ELECTORATE, "--ballots", ok_ballots],
         "--rule 'eu' is neither a preset"),
        (["--rule", "eu-qmv", "--electorate", bad_json, "--ballots", ok_ballots],
         f"{bad_json}: not valid JSON"),
        (["--rule", "eu-qmv", "--electorate", str(tmp_path / "none.json"), "--ballots", ok_ballots],
         "none.json: cannot read"),
        (["--rule", bad_rule, "--electorate", ELECTORATE, "--ballots", ok_ballots],
         f"{bad_rule}: a rule: unknown key(s) 'majorty'"),
        (["--rule", big, "--electorate", ELECTORATE, "--ballots", ok_ballots],
         "threshold 3/2 is outside 0..1"),
        (["--rule", "eu-qmv", "--electorate", ELECTORATE, "--ballots", stranger],
         f"{stranger}: ballot from 'UK', which is not in the electorate"),
        (["--rule", "eu-qmv", "--electorate", no_pop, "--ballots", write(tmp_path, "n.json", "[]")],
         f"{no_pop}: rule eu-qmv sums weight 'population', which member(s) DE lack"),
    ]  # fmt: skip


def test_bad_inputs_give_one_clear_line_and_exit_1(tmp_path: Path) -> None:
    for args, message in broken_cases(tmp_path):
        code, out, err = tally(*args)
        assert code == 1, (args, out)
        assert message in err, (message, err)
        assert err.strip().count("\n") == 0 and "Traceback" not in err
