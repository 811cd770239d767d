"""The in-memory fake: its life cycle, clock, failure injection and slot bookkeeping."""

from __future__ import annotations

import signal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pnyx.backends.base import (
    Backend,
    BackendError,
    BackendState,
    BackendUnavailableError,
    JobSpec,
)
from pnyx.backends.fake import EPOCH, FakeBackend, FakeNode, FakeProgram


def job(job_id: str, per_node: int = 1, nodes: int = 1, **kw: object) -> JobSpec:
    return JobSpec(job_id, ("train",), "h100", nodes, per_node, **kw)  # type: ignore[arg-type]


def programs(**by_id: FakeProgram) -> FakeBackend:
    return FakeBackend(program_for=lambda spec: by_id.get(spec.job_id, FakeProgram()))


def state(backend: FakeBackend, job_id: str) -> BackendState:
    return backend.status([job_id])[job_id].state


def test_it_is_a_backend() -> None:
    assert isinstance(FakeBackend(), Backend)


def test_a_job_runs_for_its_duration_then_succeeds() -> None:
    backend = programs(a=FakeProgram(duration_s=10, output="hi"))
    backend.submit(job("a"))
    assert state(backend, "a") is BackendState.RUNNING
    backend.advance(9.5)
    assert state(backend, "a") is BackendState.RUNNING
    backend.advance(1)
    done = backend.status(["a"])["a"]
    assert (done.state, done.exit_code) == (BackendState.SUCCEEDED, 0)
    assert (done.start_time, done.end_time) == (EPOCH, EPOCH + 10)
    assert backend.logs("a").startswith("hi\n")


def test_a_non_zero_exit_fails_with_its_code() -> None:
    backend = programs(a=FakeProgram(duration_s=1, exit_code=7))
    backend.submit(job("a"))
    backend.advance(2)
    done = backend.status(["a"])["a"]
    assert (done.state, done.exit_code) == (BackendState.FAILED, 7)


def test_pending_jobs_start_when_an_earlier_one_ends_at_its_exact_time() -> None:
    backend = FakeBackend(nodes=[FakeNode("n1", "h100", 8)])
    backend.submit(job("big", per_node=8))
    backend.submit(job("next", per_node=1))
    assert state(backend, "next") is BackendState.PENDING
    backend.advance(5)
    nxt = backend.status(["next"])["next"]
    assert nxt.start_time == EPOCH + 1  # the default program runs one second
    assert nxt.state is BackendState.SUCCEEDED


def test_a_gang_spreads_over_nodes_with_room() -> None:
    backend = programs(g=FakeProgram(duration_s=None))
    backend.submit(job("g", per_node=8, nodes=3))
    assert backend.status(["g"])["g"].nodes == ("node1", "node2", "node3")
    assert [n.state for n in backend.nodes()] == ["allocated"] * 3 + ["idle"]


def test_a_job_asking_for_more_than_the_cluster_has_is_refused() -> None:
    with pytest.raises(BackendError, match="has only 4 such node"):
        FakeBackend().submit(job("huge", per_node=8, nodes=5))


def test_submit_is_idempotent_and_unknown_jobs_are_lost() -> None:
    backend = FakeBackend()
    first = backend.submit(job("a"))
    assert backend.submit(job("a")) == first == backend.find("a")
    assert state(backend, "zzz") is BackendState.LOST
    assert backend.find("zzz") is None


def test_time_limit_sends_the_checkpoint_signal_then_times_out() -> None:
    traps = {int(signal.SIGUSR1): "checkpointing"}
    backend = programs(a=FakeProgram(duration_s=None, traps=traps))
    backend.submit(job("a", time_limit_s=100, checkpoint_signal="USR1", grace_s=30))
    backend.advance(69)
    assert "checkpointing" not in backend.logs("a")
    backend.advance(1)
    assert "checkpointing" in backend.logs("a")
    backend.advance(30)
    done = backend.status(["a"])["a"]
    assert done.state is BackendState.TIMEOUT
    assert done.end_time == EPOCH + 100


def test_an_untrapped_signal_ends_the_job() -> None:
    backend = programs(a=FakeProgram(duration_s=None))
    backend.submit(job("a"))
    backend.signal("a", signal.SIGTERM)
    done = backend.status(["a"])["a"]
    assert (done.state, done.exit_code) == (BackendState.FAILED, 128 + signal.SIGTERM)


def test_signalling_a_pending_job_is_refused() -> None:
    backend = FakeBackend(nodes=[FakeNode("n1", "h100", 1)])
    backend.submit(job("a"))
    backend.submit(job("b"))
    with pytest.raises(BackendError, match="not running"):
        backend.signal("b", signal.SIGUSR1)


def test_cancel_kills_the_processes_and_charges_the_run() -> None:
    backend = programs(a=FakeProgram(duration_s=None, children=2))
    backend.submit(job("a", per_node=2))
    pids = [int(line[4:]) for line in backend.logs("a").split() if line.startswith("pid=")]
    assert len(pids) == 3 and all(backend.pid_alive(p) for p in pids)
    backend.advance(50)
    backend.cancel("a")
    assert state(backend, "a") is BackendState.CANCELLED
    assert not any(backend.pid_alive(p) for p in pids)
    [run] = backend.accounting(["a"])
    assert (run.accelerators, run.accel_seconds) == (2, 100)


def test_a_failed_node_requeues_its_job_and_records_the_lost_run() -> None:
    backend = programs(a=FakeProgram(duration_s=100))
    backend.submit(job("a", per_node=8))
    backend.advance(10)
    backend.fail_node("node1", "power")
    assert backend.status(["a"])["a"].nodes == ("node2",)  # requeued and restarted at once
    assert backend.nodes()[0].state == "down"
    assert backend.nodes()[0].reason == "power"
    backend.advance(100)
    assert state(backend, "a") is BackendState.SUCCEEDED
    runs = backend.accounting(["a"])
    assert [r.accel_seconds for r in runs] == [80, 800]


def test_a_failed_node_ends_a_job_that_may_not_be_requeued() -> None:
    backend = programs(a=FakeProgram(duration_s=100))
    backend.submit(job("a", requeue=False))
    backend.fail_node("node1")
    done = backend.status(["a"])["a"]
    assert done.state is BackendState.NODE_FAIL
    assert "node1" in done.reason


def test_a_requeued_job_waits_while_no_node_has_room() -> None:
    backend = FakeBackend(
        nodes=[FakeNode("n1", "h100", 8)], program_for=lambda s: FakeProgram(None)
    )
    backend.submit(job("a"))
    backend.fail_node("n1")
    assert state(backend, "a") is BackendState.REQUEUED
    backend.resume_node("n1")
    assert state(backend, "a") is BackendState.RUNNING


def test_preemption_and_forgetting() -> None:
    backend = programs(a=FakeProgram(duration_s=None), b=FakeProgram(duration_s=None))
    backend.submit(job("a"))
    backend.submit(job("b"))
    backend.preempt("a")
    backend.preempt("b", requeue=True)
    assert state(backend, "a") is BackendState.PREEMPTED
    assert state(backend, "b") is BackendState.RUNNING  # back in the queue, started again
    backend.forget("a")
    assert state(backend, "a") is BackendState.LOST


def test_explicit_finish_and_status_call_count() -> None:
    backend = programs(a=FakeProgram(duration_s=None))
    backend.submit(job("a"))
    backend.finish("a", exit_code=2, output="bye")
    statuses = backend.status(["a", "b", "c"])
    assert backend.status_calls == 1
    assert statuses["a"].exit_code == 2
    assert "bye" in backend.logs("a")


def test_an_unavailable_backend_refuses_everything_until_restored() -> None:
    backend = FakeBackend()
    backend.submit(job("a"))
    backend.set_unavailable(True)
    calls = [
        lambda: backend.submit(job("b")),
        lambda: backend.status(["a"]),
        lambda: backend.cancel("a"),
        lambda: backend.nodes(),
        lambda: backend.accounting(["a"]),
    ]
    for call in calls:
        with pytest.raises(BackendUnavailableError):
            call()
    backend.set_unavailable(False)
    assert state(backend, "a") is BackendState.RUNNING


def test_the_environment_names_the_slots_of_the_first_node() -> None:
    env = ("CUDA_VISIBLE_DEVICES", "PNYX_JOB_ID", "X")
    backend = programs(a=FakeProgram(duration_s=None), b=FakeProgram(print_env=env))
    backend.submit(job("a", per_node=3))
    backend.submit(JobSpec("b", ("t",), "h100", 1, 2, env={"X": "y"}))
    assert backend.logs("b").split()[:3] == ["CUDA_VISIBLE_DEVICES=3,4", "PNYX_JOB_ID=b", "X=y"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 8), st.integers(1, 3), st.floats(0.5, 20), st.floats(0, 10)),
        min_size=1,
        max_size=25,
    ),
    st.sets(st.sampled_from(["node1", "node2", "node3", "node4"]), max_size=2),
)
def test_no_accelerator_is_ever_given_twice(
    jobs: list[tuple[int, int, float, float]], failing: set[str]
) -> None:
    durations = {f"j{i}": d for i, (_, _, d, _) in enumerate(jobs)}
    backend = FakeBackend(program_for=lambda s: FakeProgram(duration_s=durations[s.job_id]))
    for i, (per_node, nodes, _, gap) in enumerate(jobs):
        backend.submit(job(f"j{i}", per_node=per_node, nodes=nodes))
        if i == len(jobs) // 2:
            for name in failing:
                backend.fail_node(name)
        held: dict[str, list[int]] = {}
        for jid, js in backend._jobs.items():
            for node, idx in js.slots.items():
                assert node not in failing or i < len(jobs) // 2, (jid, node)
                held.setdefault(node, []).extend(idx)
        for node, idx in held.items():
            assert len(idx) == len(set(idx)), (node, idx)
            assert len(idx) <= 8
        backend.advance(gap)


def test_an_unknown_checkpoint_signal_is_refused_at_submit() -> None:
    backend = FakeBackend()
    with pytest.raises(BackendError, match="unknown checkpoint signal"):
        backend.submit(job("a", checkpoint_signal="NOPE"))
    assert backend.find("a") is None


def test_a_pinned_job_runs_on_its_nodes_and_waits_for_them() -> None:
    backend = programs(a=FakeProgram(duration_s=10), b=FakeProgram(duration_s=5))
    backend.submit(job("a", per_node=8, node_names=("node3",)))
    assert backend.status(["a"])["a"].nodes == ("node3",)
    backend.submit(job("b", per_node=4, nodes=2, node_names=("node3", "node1")))
    assert state(backend, "b") is BackendState.PENDING  # node3 is full; others are not used
    backend.advance(10)
    assert sorted(backend.status(["b"])["b"].nodes) == ["node1", "node3"]


@pytest.mark.parametrize(
    ("nodes", "pin"),
    [(1, ("node9",)), (2, ("node1", "node1")), (2, ("node1",))],
    ids=["unknown node", "a node twice", "fewer nodes than the gang"],
)
def test_a_pin_the_cluster_cannot_honour_is_refused(nodes: int, pin: tuple[str, ...]) -> None:
    with pytest.raises(BackendError, match="node list"):
        FakeBackend().submit(job("a", nodes=nodes, node_names=pin))


def test_a_pin_on_nodes_of_another_type_is_refused() -> None:
    backend = FakeBackend(nodes=[FakeNode("g1", "gaudi3", 8), FakeNode("h1", "h100", 8)])
    with pytest.raises(BackendError, match="have no 1 h100"):
        backend.submit(job("a", node_names=("g1",)))
