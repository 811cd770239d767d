"""Named voting rules, kept as data in the same JSON/YAML form as a rule file.

``docs/governance.md`` works each preset through by hand. In short:

simple-majority
    More yes than no among the members voting yes or no (``yes / (yes + no) > 1/2``);
    abstentions are left out of the majority but an abstaining member is present, so it counts
    toward the quorum: at least half of the electorate's members must cast a ballot (yes, no or
    abstain). Parliaments commonly count abstainers as present; "at least half" rather than
    "more than half" keeps a two-member electorate able to act with one ballot.

eu-qmv
    Art. 16(4) TEU (and Art. 238(3) TFEU for its arithmetic): a qualified majority is at least
    55 % of the members of the Council representing member states comprising at least 65 % of
    the population; a blocking minority must include at least four members, failing which the
    qualified majority is deemed attained. Both shares are of the whole electorate (base
    ``absolute``), so abstaining and absent members count against. The blocking-minority clause
    rescues only the population clause: when fewer than four members do not vote yes, a failing
    population share is deemed met; the 55 % of members must still be reached. (With 27 members,
    55 % is 14.85, i.e. 15 members, the treaty's "at least fifteen".)

skao-budget
    After the SKA Observatory Convention (Art. 8) and the issue's budget rule: a two-thirds
    majority of the members voting yes or no, AND two-thirds of the contribution of the members
    voting yes or no; abstaining or absent members are not taken into account in the majorities
    (Art. 8(7)), but abstainers are present for the quorum of two-thirds of the members (8(4)).

unanimity
    Every member of the electorate votes yes, or abstains: as in the EU Council (Art. 238(4)
    TFEU) an abstention does not prevent unanimity, but an absent member or a single no does;
    at least one member must vote yes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pnyx.domain.governance.rules import Rule, parse_rule
from pnyx.errors import InvalidInputError

PRESET_DATA: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "simple-majority": {
            "name": "simple-majority",
            "description": "more yes than no among members voting; quorum: half the members",
            "abstention": "quorum-only",
            "quorum": [{"by": "count", "threshold": "1/2", "comparison": ">="}],
            "majority": [{"by": "count", "threshold": "1/2", "base": "voting", "comparison": ">"}],
        },
        "eu-qmv": {
            "name": "eu-qmv",
            "description": "EU Council qualified majority, Art. 16(4) TEU",
            "abstention": "counts-as-no",
            "majority": [
                {"by": "count", "threshold": "55%", "base": "absolute", "comparison": ">="},
                {
                    "by": "weight",
                    "key": "population",
                    "threshold": "65%",
                    "base": "absolute",
                    "comparison": ">=",
                },
            ],
            "blocking_minority": {"min_members": 4},
        },
        "skao-budget": {
            "name": "skao-budget",
            "description": "two-thirds of members voting and of their contribution; quorum 2/3",
            "abstention": "quorum-only",
            "quorum": [{"by": "count", "threshold": "2/3", "comparison": ">="}],
            "majority": [
                {"by": "count", "threshold": "2/3", "base": "voting", "comparison": ">="},
                {
                    "by": "weight",
                    "key": "contribution",
                    "threshold": "2/3",
                    "base": "voting",
                    "comparison": ">=",
                },
            ],
        },
        "unanimity": {
            "name": "unanimity",
            "description": "every member votes yes or abstains; abstention does not prevent it",
            "abstention": "quorum-only",
            "unanimity": True,
        },
    }
)

PRESETS: Mapping[str, Rule] = MappingProxyType(
    {name: parse_rule(data) for name, data in PRESET_DATA.items()}
)


def load_rule(spec: str | Mapping[str, Any]) -> Rule:
    """A preset by name, or a rule mapping (which may say ``extends: PRESET`` and override
    top-level keys of that preset, e.g. to suspend members)."""
    if isinstance(spec, str):
        return _preset(spec)
    if not isinstance(spec, Mapping):
        raise InvalidInputError(f"a rule must be a preset name or a mapping, got {type(spec)}")
    if "extends" not in spec:
        return parse_rule(spec)
    base = spec["extends"]
    if not isinstance(base, str):
        raise InvalidInputError(f"'extends' must name a preset, got {base!r}")
    _preset(base)
    overrides = {k: v for k, v in spec.items() if k != "extends"}
    return parse_rule({**PRESET_DATA[base], **overrides})


def _preset(name: str) -> Rule:
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(PRESETS)
        raise InvalidInputError(f"unknown rule preset {name!r} (known: {known})") from None
