"""pnyx council: count votes (tally); resolutions (see council_resolutions)."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml

from pnyx.cli import council_resolutions as res
from pnyx.cli.common import JsonOpt, console, emit, fail
from pnyx.domain import governance as gov
from pnyx.errors import InvalidInputError

app = typer.Typer(help="The Council: votes and resolutions.", no_args_is_help=True)
app.add_typer(res.weights_app, name="weights")
for _name in ("propose", "vote", "close", "list", "show", "verify", "preview"):
    app.command(_name)(getattr(res, "list_resolutions" if _name == "list" else _name))

T = TypeVar("T")

RuleOpt = Annotated[
    str,
    typer.Option(
        "--rule",
        help=f"a preset ({', '.join(gov.PRESETS)}) or a rule file (JSON or YAML)",
        show_default=False,
    ),
]
ElectorateOpt = Annotated[
    Path, typer.Option("--electorate", help="electorate file (JSON or YAML)", show_default=False)
]
BallotsOpt = Annotated[
    Path, typer.Option("--ballots", help="ballots file (JSON or YAML)", show_default=False)
]


@app.command("tally")
def tally(
    rule: RuleOpt, electorate: ElectorateOpt, ballots: BallotsOpt, json: JsonOpt = False
) -> None:
    """Count a vote under a rule (pure: reads three files, writes nothing)."""
    the_rule = _rule(rule)
    the_electorate = _parse_file(electorate, gov.parse_electorate)
    the_ballots = _parse_file(ballots, gov.parse_ballots)
    _check(str(electorate), lambda: gov.verify_rule_fits(the_rule, the_electorate))
    _check(str(ballots), lambda: gov.verify_ballots(the_electorate, the_ballots))
    result = gov.tally(the_rule, the_electorate, the_ballots)
    emit(result.to_json(), json, _render)


def _rule(spec: str) -> gov.Rule:
    if spec in gov.PRESETS:
        return gov.PRESETS[spec]
    path = Path(spec)
    if not path.is_file():
        fail(f"--rule {spec!r} is neither a preset ({', '.join(gov.PRESETS)}) nor a file")
    return _parse_file(path, _rule_from_data)


def _rule_from_data(data: Any) -> gov.Rule:
    if not isinstance(data, Mapping):
        raise InvalidInputError(f"a rule file must hold a mapping, got {type(data).__name__}")
    return gov.load_rule(data)


def _parse_file(path: Path, parse: Callable[[Any], T]) -> T:
    data = read_data(path)
    try:
        return parse(data)
    except InvalidInputError as e:
        fail(f"{path}: {e}")


def _check(where: str, check: Callable[[], None]) -> None:
    try:
        check()
    except InvalidInputError as e:
        fail(f"{where}: {e}")


def read_data(path: Path) -> Any:
    """The JSON (``.json``) or YAML (anything else) value in ``path``; one clear line if not."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}")
    if path.suffix.lower() == ".json":
        try:
            return jsonlib.loads(text)
        except jsonlib.JSONDecodeError as e:
            fail(f"{path}: not valid JSON: {e}")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        fail(f"{path}: not valid YAML: {' '.join(str(e).split())}")


def _render(out: dict[str, Any]) -> None:
    verdict = "[green]PASSED[/green]" if out["passed"] else "[red]FAILED[/red]"
    console.print(f"{verdict} under rule {out['rule']}, decided by {out['decided_by']}")
    c = out["counts"]
    console.print(
        f"members: {c['yes']} yes, {c['no']} no, {c['abstain']} abstain, {c['absent']} absent"
        f" of {c['electorate']}; quorum {'reached' if out['quorum_reached'] else 'NOT reached'}"
    )
    for cl in out["clauses"]:
        console.print(_clause_line(cl), highlight=False)
    _render_blocking(out["blocking_minority"])
    for e in out["excluded"]:
        console.print(f"excluded {e['member']}: {e['reason']}", highlight=False)
    for b in out["ignored_ballots"]:
        console.print(f"ignored the ballot of excluded member {b['member']} ({b['choice']})")


def _clause_line(cl: dict[str, Any]) -> str:
    mark = "met" if cl["met"] else ("deemed met" if cl["rescued"] else "NOT met")
    share = "-" if cl["share"] is None else _pct(cl["share"])
    base = f"base {cl['base']}" if cl["base"] else "present"
    return (
        f"  {cl['clause']} ({base}): {_num(cl['numerator'])} of {_num(cl['denominator'])}"
        f" = {share}, needs {cl['comparison']} {_pct(cl['threshold'])}"
        f" ({cl['threshold']['fraction']}): {mark}"
    )


def _num(value: dict[str, Any]) -> str:
    text = str(value["fraction"])
    return text if "/" not in text else f"{value['float']:.6g}"


def _render_blocking(b: dict[str, Any] | None) -> None:
    if b is None:
        return
    state = "formed" if b["formed"] else "not formed"
    console.print(
        f"blocking minority {state}: {b['against_members']} member(s) against,"
        f" at least {b['min_members']} needed"
        + (f"; deemed met: {', '.join(b['rescued'])}" if b["rescued"] else "")
    )


def _pct(value: dict[str, Any]) -> str:
    return f"{100 * value['float']:.2f} %"
