"""Council voting: rules as data, presets, and the pure tally (DESIGN.md §7).

from pnyx.domain.governance import PRESETS, parse_ballots, parse_electorate, tally
result = tally(PRESETS["eu-qmv"], parse_electorate(data), parse_ballots(items))
result.passed, result.decided_by, result.to_json()
"""

from pnyx.domain.governance.electorate import (
    Ballot,
    Choice,
    Electorate,
    Member,
    parse_ballots,
    parse_electorate,
    verify_ballots,
)
from pnyx.domain.governance.numbers import Comparison, parse_fraction
from pnyx.domain.governance.presets import PRESET_DATA, PRESETS, load_rule
from pnyx.domain.governance.rules import (
    Abstention,
    Base,
    BlockingMinority,
    Clause,
    ElectorateFilter,
    Measure,
    Rule,
    parse_rule,
)
from pnyx.domain.governance.tally import (
    BlockingFigures,
    ClauseResult,
    Counts,
    Exclusion,
    Tally,
    WeightSums,
    split_electorate,
    tally,
    verify_rule_fits,
)

__all__ = [
    "PRESETS",
    "PRESET_DATA",
    "Abstention",
    "Ballot",
    "Base",
    "BlockingFigures",
    "BlockingMinority",
    "Choice",
    "Clause",
    "ClauseResult",
    "Comparison",
    "Counts",
    "Electorate",
    "ElectorateFilter",
    "Exclusion",
    "Measure",
    "Member",
    "Rule",
    "Tally",
    "WeightSums",
    "load_rule",
    "parse_ballots",
    "parse_electorate",
    "parse_fraction",
    "parse_rule",
    "split_electorate",
    "tally",
    "verify_ballots",
    "verify_rule_fits",
]
