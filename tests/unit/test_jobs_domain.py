"""Jobs domain: spec validation, the life-cycle state machine, admission rules, durations."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from pnyx.domain import jobs as dj
from pnyx.domain.containment import ContainmentLevel
from pnyx.domain.jobs import JobState as S
from pnyx.errors import ConflictError, InvalidInputError

ALLOWED = {
    (S.QUEUED, S.PLACED), (S.QUEUED, S.CANCELLED), (S.QUEUED, S.FAILED),
    (S.PLACED, S.QUEUED), (S.PLACED, S.STARTING), (S.PLACED, S.RUNNING), (S.PLACED, S.FAILED),
    (S.PLACED, S.CANCELLED), (S.PLACED, S.REQUEUED),
    (S.STARTING, S.RUNNING), (S.STARTING, S.COMPLETING), (S.STARTING, S.SUCCEEDED),
    (S.STARTING, S.FAILED), (S.STARTING, S.CANCELLED), (S.STARTING, S.PREEMPTED),
    (S.STARTING, S.REQUEUED),
    (S.RUNNING, S.COMPLETING), (S.RUNNING, S.SUCCEEDED), (S.RUNNING, S.FAILED),
    (S.RUNNING, S.CANCELLED), (S.RUNNING, S.PREEMPTED), (S.RUNNING, S.REQUEUED),
    (S.COMPLETING, S.SUCCEEDED), (S.COMPLETING, S.FAILED), (S.COMPLETING, S.CANCELLED),
    (S.PREEMPTED, S.REQUEUED), (S.PREEMPTED, S.CANCELLED),
    (S.REQUEUED, S.QUEUED), (S.REQUEUED, S.PLACED), (S.REQUEUED, S.CANCELLED),
}  # fmt: skip


def spec(**overrides: Any) -> dj.JobSpec:
    fields: dict[str, Any] = {
        "project_id": "alpha",
        "award_id": "c1.001",
        "command": ("python", "-m", "train"),
        "accelerator_types": ("h100",),
        "time_limit_s": 3600,
        "containment": "CL-1",
        "nodes": 2,
        "accelerators_per_node": 8,
    }
    fields.update(overrides)
    return dj.JobSpec(**fields)


# --- state machine ------------------------------------------------------------------------------


def test_the_transition_table_is_exactly_the_documented_one() -> None:
    table = {(a, b) for a, targets in dj.TRANSITIONS.items() for b in targets}
    assert table == ALLOWED


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_every_allowed_transition_gives_its_event(current: S, target: S) -> None:
    if target is S.PLACED:
        ev = dj.decide_place("j-1", current, "lab-gpu", "h100", ["h100"], "fits")
        assert (ev.from_state, ev.cluster, ev.reason) == (current.value, "lab-gpu", "fits")
        return
    ev = dj.decide_transition("j-1", current, target, "engine said so", "42", ["n1"], 0)
    assert (ev.from_state, ev.to_state, ev.backend_job_id, ev.nodes, ev.exit_code) == (
        current.value, target.value, "42", ["n1"], 0,
    )  # fmt: skip


FORBIDDEN = sorted(
    (a, b) for a, b in itertools.product(S, S) if (a, b) not in ALLOWED and b is not S.PLACED
)


@pytest.mark.parametrize(("current", "target"), FORBIDDEN[::3])
def test_a_forbidden_transition_names_both_states(current: S, target: S) -> None:
    with pytest.raises(ConflictError, match=f"from {current} to {target}"):
        dj.decide_transition("j-1", current, target, "why")


def test_final_states_allow_nothing_and_running_is_not_skipped_from_queued() -> None:
    for state in (S.SUCCEEDED, S.FAILED, S.CANCELLED):
        assert state.final
        with pytest.raises(ConflictError, match="none \\(final\\)"):
            dj.decide_transition("j-1", state, S.RUNNING, "again")
    with pytest.raises(ConflictError, match="from queued to running"):
        dj.decide_transition("j-1", S.QUEUED, S.RUNNING, "skip placement")
    with pytest.raises(ConflictError, match="from succeeded to placed"):
        dj.decide_place("j-1", S.SUCCEEDED, "lab-gpu", "h100", ["h100"], "again")


def test_placing_goes_through_decide_place_with_an_acceptable_type() -> None:
    with pytest.raises(InvalidInputError, match="use place_job"):
        dj.decide_transition("j-1", S.QUEUED, S.PLACED, "x")
    with pytest.raises(InvalidInputError, match="'mi300x' is not acceptable"):
        dj.decide_place("j-1", S.QUEUED, "lab-gpu", "mi300x", ["h100"], "x")


def test_a_transition_needs_a_reason_and_a_sane_exit_code() -> None:
    with pytest.raises(InvalidInputError, match="reason"):
        dj.decide_transition("j-1", S.RUNNING, S.FAILED, "  ")
    with pytest.raises(InvalidInputError, match="exit_code"):
        dj.decide_transition("j-1", S.RUNNING, S.FAILED, "x", exit_code=1000)


def test_cancel_is_immediate_off_the_engine_and_requested_on_it() -> None:
    now = dj.decide_cancel("j-1", S.QUEUED, False, "alice", "wrong data")
    assert isinstance(now, dj.JobStateChanged) and now.to_state == "cancelled"
    assert "alice" in now.reason and "wrong data" in now.reason
    later = dj.decide_cancel("j-1", S.RUNNING, False, "alice", "wrong data")
    assert isinstance(later, dj.JobCancelRequested)
    with pytest.raises(ConflictError, match="already requested"):
        dj.decide_cancel("j-1", S.RUNNING, True, "alice", "again")
    with pytest.raises(ConflictError, match="already succeeded"):
        dj.decide_cancel("j-1", S.SUCCEEDED, False, "alice", "late")


def test_lost_is_a_failure_whose_reason_says_lost() -> None:
    ev = dj.decide_transition("j-1", S.RUNNING, S.FAILED, dj.lost_reason("slurm forgot it"))
    assert ev.to_state == "failed" and ev.reason.startswith("lost: ")


# --- spec validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"command": ()}, "command"),
        ({"command": "python train.py"}, "command"),
        ({"command": ("",)}, "command"),
        ({"nodes": 0}, "nodes"),
        ({"accelerators_per_node": -1}, "accelerators_per_node"),
        ({"accelerator_types": ("h100", "quantum")}, "accelerator_types"),
        ({"accelerator_types": ()}, "accelerator_types"),
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"env": {"A": 1}}, "env"),
        ({"env": {"1BAD": "x"}}, "env"),
        ({"containment": "CL-9"}, "containment"),
        ({"checkpoint_signal": "KILL"}, "checkpoint_signal"),
        ({"checkpoint_signal": "USR1", "grace_s": 3600}, "grace_s"),
        ({"datasets": ["no-version"]}, "datasets"),
        ({"datasets": ["web-text@v1"]}, "datasets"),
        ({"project_id": "Not A Slug"}, "project_id"),
        ({"award_id": ""}, "award_id"),
    ],
)
def test_bad_input_names_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError, match=field):
        spec(**overrides)


def test_a_good_spec_is_normalised() -> None:
    s = spec(
        accelerator_types=["h100", "a100", "h100"],
        checkpoint_signal="sigusr1",
        grace_s=60,
        env={"B": "2", "A": "1"},
        datasets=["web-text@3"],
    )
    assert s.accelerator_types == ("h100", "a100")
    assert s.checkpoint_signal == "USR1"
    assert list(s.env or {}) == ["A", "B"]
    assert s.containment is ContainmentLevel.CL1
    assert s.accelerators == 16


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("1h", 3600), ("2h30m", 9000), ("1d", 86400),
     ("01:30:00", 5400), ("1-00:00:01", 86401), ("10:00", 36000)],
)  # fmt: skip
def test_durations(text: str, seconds: int) -> None:
    assert dj.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "soon", "1x", "-5m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError, match="time limit"):
        dj.parse_duration(text)


def test_log_tail_keeps_the_last_64_kib_without_splitting_characters() -> None:
    short, cut = dj.log_tail("hello")
    assert (short, cut) == ("hello", False)
    text = "é" * 40_000 + "END"  # 80,003 bytes
    tail, cut = dj.log_tail(text)
    assert cut and tail.endswith("END") and len(tail.encode()) <= dj.MAX_LOG_BYTES
    assert text.endswith(tail)


# --- admission rules ------------------------------------------------------------------------------


def award(**overrides: Any) -> dj.AwardFacts:
    fields: dict[str, Any] = {
        "award_id": "c1.001",
        "project_id": "alpha",
        "hours": {"h100": 100},
        "containment": "CL-1",
        "period_start": "2026-02-01",
        "period_end": "2026-12-31",
    }
    fields.update(overrides)
    return dj.AwardFacts(**fields)


TODAY = date(2026, 3, 1)


def test_award_checks_each_give_their_reason() -> None:
    assert dj.check_award(spec(accelerator_types=("a100", "h100")), award(), TODAY) == ["h100"]
    with pytest.raises(InvalidInputError, match="does not exist"):
        dj.check_award(spec(), None, TODAY)
    with pytest.raises(InvalidInputError, match="belongs to project beta"):
        dj.check_award(spec(), award(project_id="beta"), TODAY)
    with pytest.raises(ConflictError, match="runs from 2026-02-01"):
        dj.check_award(spec(), award(), date(2027, 1, 1))
    with pytest.raises(InvalidInputError, match="covers \\['h100'\\], none of"):
        dj.check_award(spec(accelerator_types=("mi300x",)), award(), TODAY)
    with pytest.raises(InvalidInputError, match="below the project's CL-2"):
        dj.check_award(spec(), award(containment="CL-2"), TODAY)


def pool(partition: str | None = None, level: str | None = None, **kw: Any) -> dj.Pool:
    fields: dict[str, Any] = {
        "cluster_id": "lab",
        "cluster_containment": "CL-3",
        "partition": partition,
        "partition_containment": level,
        "certificate_expires": None,
        "accelerator_type": "h100",
        "nodes": 2,
    }
    fields.update(kw)
    return dj.Pool(**fields)


def test_certification_rules() -> None:
    cl1, cl2, cl3 = ContainmentLevel.CL1, ContainmentLevel.CL2, ContainmentLevel.CL3
    open_pool = pool()
    assert dj.pool_certified(open_pool, cl1, TODAY) and dj.pool_certified(open_pool, cl2, TODAY)
    assert not dj.pool_certified(open_pool, cl3, TODAY)  # CL-3 needs a certified partition
    assert not dj.pool_certified(pool(cluster_containment="CL-1"), cl2, TODAY)
    secure = pool("secure", "CL-3", certificate_expires="2027-06-30")
    assert dj.pool_certified(secure, cl3, TODAY)
    assert not dj.pool_certified(secure, cl1, TODAY)  # a partition hosts its own level only
    expired = pool("secure", "CL-3", certificate_expires="2026-01-31")
    assert not dj.pool_certified(expired, cl3, TODAY)
    job = spec(containment="CL-3", nodes=2)
    with pytest.raises(InvalidInputError, match="expired certificates: lab/secure"):
        dj.check_certified(job, [expired, open_pool], ["h100"], TODAY)
    assert dj.check_certified(job, [secure], ["h100"], TODAY) == [("lab", "h100")]


def test_targets_need_enough_nodes_in_one_cluster_and_follow_type_preference() -> None:
    pools = [
        pool(nodes=1),
        pool("p2", "CL-1", nodes=1),
        pool(cluster_id="big", accelerator_type="a100", nodes=8),
        pool(cluster_id="tiny", nodes=1),
    ]
    got = dj.certified_targets(pools, ContainmentLevel.CL1, ["h100", "a100"], 2, TODAY)
    assert got == [("lab", "h100"), ("big", "a100")]


def test_reserved_type_is_the_placed_one_else_the_first_covered() -> None:
    assert dj.reserved_type("a100", ["h100", "a100"], {"h100"}) == "a100"
    assert dj.reserved_type(None, ["b200", "a100", "h100"], {"h100", "a100"}) == "a100"
    assert dj.reserved_type(None, ["b200"], {"h100"}) is None
