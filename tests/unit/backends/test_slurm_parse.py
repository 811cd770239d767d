"""Parsing Slurm 22.05's real output (tests/data/slurm/, captured from the dev cluster)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pnyx.backends.base import BackendError, BackendState, BackendUnavailableError
from pnyx.backends.slurm_parse import (
    decode_wait_status,
    expand_nodelist,
    latest_runs,
    map_state,
    parse_gpu_tres,
    parse_sacct,
    parse_sinfo,
    parse_squeue,
    sacct_status,
)

DATA = Path(__file__).parents[2] / "data" / "slurm"


def sample(name: str) -> str:
    return (DATA / name).read_text()


def posix(iso: str) -> float:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()


def test_squeue_maps_every_pnyx_job_and_ignores_the_others() -> None:
    jobs = parse_squeue(sample("squeue.json"))
    assert set(jobs) == {
        "sample-ok",
        "sample-fail",
        "sample-killed",
        "sample-running",
        "sample-held",
        "sample-cancel",
    }
    states = {job_id: s.state for job_id, s in jobs.items()}
    assert states == {
        "sample-ok": BackendState.SUCCEEDED,
        "sample-fail": BackendState.FAILED,
        "sample-killed": BackendState.FAILED,
        "sample-running": BackendState.RUNNING,
        "sample-held": BackendState.PENDING,
        "sample-cancel": BackendState.CANCELLED,
    }


def test_squeue_exit_codes_are_decoded_from_the_wait_status() -> None:
    jobs = parse_squeue(sample("squeue.json"))
    assert jobs["sample-ok"].exit_code == 0
    assert jobs["sample-fail"].exit_code == 3  # raw 768
    assert jobs["sample-killed"].exit_code == 128 + 9  # killed by SIGKILL
    assert jobs["sample-running"].exit_code is None


def test_squeue_running_job_has_nodes_start_and_no_end() -> None:
    running = parse_squeue(sample("squeue.json"))["sample-running"]
    assert running.backend_job_id == "1070"
    assert running.nodes == ("node2", "node3")
    assert running.start_time is not None
    assert running.end_time is None  # squeue's end_time is only the projected end


def test_squeue_pending_job_has_its_reason_and_no_nodes() -> None:
    held = parse_squeue(sample("squeue.json"))["sample-held"]
    assert held.reason == "JobHeldUser"
    assert held.nodes == ()
    assert held.start_time is None


def test_a_pending_job_that_was_restarted_is_requeued() -> None:
    job = parse_squeue(sample("squeue-requeued.json"))["sample-requeued"]
    assert job.state is BackendState.REQUEUED
    assert job.reason.startswith("requeued 1 time")


def test_squeue_errors_mean_the_controller_is_unavailable() -> None:
    down = (
        '{"meta": {}, "jobs": [], "errors": [{"description": "Failed while looking for jobs",'
        ' "error_number": -1, "error": "Unspecified error", "source": "slurm_load_jobs"}]}'
    )
    with pytest.raises(BackendUnavailableError):
        parse_squeue(down)
    with pytest.raises(BackendError):
        parse_squeue("slurm_load_jobs error: not json")


def test_sacct_rows_carry_state_exit_code_times_and_gpus() -> None:
    rows = {r.job_id: r for r in parse_sacct(sample("sacct.txt"))}
    assert set(rows) == {
        "sample-ok",
        "sample-fail",
        "sample-killed",
        "sample-running",
        "sample-cancel",
    }
    assert rows["sample-fail"].exit_code == 3  # sacct --json would say 0 here (22.05)
    assert rows["sample-killed"].exit_code == 128 + 9
    assert rows["sample-cancel"].state is BackendState.CANCELLED  # "CANCELLED by 0"
    ok = rows["sample-ok"]
    assert ok.gpus == {"h100": 2}
    assert ok.start_time == posix("2026-11-26T17:55:33")
    assert rows["sample-running"].end_time is None  # "Unknown"
    assert rows["sample-running"].nodes == ("node2", "node3")


def test_sacct_keeps_one_row_per_run_of_a_requeued_job() -> None:
    rows = parse_sacct(sample("sacct-requeued.txt"))
    assert [r.state for r in rows] == [BackendState.NODE_FAIL, BackendState.CANCELLED]
    assert {r.backend_job_id for r in rows} == {"1014"}
    latest = latest_runs(rows)["sample-requeued"]
    assert latest.state is BackendState.CANCELLED
    status = sacct_status(latest)
    assert status.state is BackendState.CANCELLED
    assert status.end_time == posix("2026-11-26T18:09:49")


def test_sacct_refuses_a_line_of_the_wrong_shape() -> None:
    with pytest.raises(BackendError, match="unexpected line"):
        parse_sacct("1|pnyx-x|COMPLETED")


def test_sinfo_lists_each_node_once_with_its_gpus() -> None:
    nodes = parse_sinfo(sample("sinfo.json"))
    assert [n.name for n in nodes] == ["node1", "node2", "node3", "node4"]
    assert {(n.accelerator_type, n.accelerators) for n in nodes} == {("h100", 8)}
    assert {n.state for n in nodes} <= {"idle", "mixed", "allocated"}


def test_a_node_whose_slurmd_died_is_down_with_its_reason() -> None:
    nodes = {n.name: n for n in parse_sinfo(sample("sinfo-node-down.json"))}
    assert nodes["node4"].state == "down"
    assert nodes["node4"].reason == "Not responding"
    assert nodes["node1"].state == "idle"


@pytest.mark.parametrize(
    ("slurm", "expected"),
    [
        ("PENDING", BackendState.PENDING),
        ("RUNNING", BackendState.RUNNING),
        ("COMPLETING", BackendState.COMPLETING),
        ("COMPLETED", BackendState.SUCCEEDED),
        ("FAILED", BackendState.FAILED),
        ("OUT_OF_MEMORY", BackendState.FAILED),
        ("BOOT_FAIL", BackendState.FAILED),
        ("DEADLINE", BackendState.FAILED),
        ("CANCELLED by 0", BackendState.CANCELLED),
        ("TIMEOUT", BackendState.TIMEOUT),
        ("PREEMPTED", BackendState.PREEMPTED),
        ("NODE_FAIL", BackendState.NODE_FAIL),
        ("REQUEUED", BackendState.REQUEUED),
        ("SOMETHING_NEW", BackendState.LOST),
        ("", BackendState.LOST),
    ],
)
def test_slurm_states_map_onto_backend_states(slurm: str, expected: BackendState) -> None:
    assert map_state(slurm) is expected


@pytest.mark.parametrize(
    ("nodelist", "expected"),
    [
        ("node1", ("node1",)),
        ("node[2-3]", ("node2", "node3")),
        ("node[1,3-4],bnode2", ("node1", "node3", "node4", "bnode2")),
        ("gpu[08-10]", ("gpu08", "gpu09", "gpu10")),
        ("", ()),
    ],
)
def test_node_lists_expand(nodelist: str, expected: tuple[str, ...]) -> None:
    assert expand_nodelist(nodelist) == expected


def test_wait_statuses_and_tres_strings() -> None:
    assert decode_wait_status(0) == 0
    assert decode_wait_status(3 << 8) == 3
    assert decode_wait_status(15) == 143
    assert parse_gpu_tres("billing=1,cpu=1,gres/gpu:h200=4,gres/gpu=4,mem=4000M") == {"h200": 4}
    assert parse_gpu_tres("cpu=1,mem=4000M") == {}
