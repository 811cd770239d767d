"""sbatch rendering: golden files for typical jobs, and the specs it must refuse.

Regenerate the golden files after an intended change with
``PNYX_UPDATE_GOLDEN=1 python -m pytest tests/unit/backends/test_slurm_script.py`` and review
the diff.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from pnyx.backends.base import BackendError, JobSpec
from pnyx.backends.slurm_script import (
    format_time_limit,
    job_id_of,
    job_name,
    render_sbatch,
)

GOLDEN = Path(__file__).parent / "golden"

CASES: dict[str, tuple[JobSpec, bool]] = {
    "single_gpu": (
        JobSpec("job-0001", ("python3", "train.py"), "h100", partition="cl1"),
        False,
    ),
    "gang_checkpoint_account": (
        JobSpec(
            "job-0002",
            ("torchrun", "--nnodes=2", "train.py", "--config", 'it\'s "quoted" $HOME; rm -rf /'),
            "h100",
            nodes=2,
            accelerators_per_node=8,
            time_limit_s=2 * 86400 + 90,
            env={"WANDB_MODE": "offline", "GREETING": "hello world; echo $PATH"},
            workdir="/scratch/job-0002",
            partition="cl2",
            account="proj-7",
            containment=2,
            preemptible=True,
            checkpoint_signal="SIGUSR1",
            grace_s=300,
        ),
        True,
    ),
    "no_requeue_no_account_when_accounting_off": (
        JobSpec(
            "job-0003",
            ("echo", "done"),
            "h200",
            accelerators_per_node=4,
            time_limit_s=59,
            partition="cl3",
            account="proj-9",
            requeue=False,
        ),
        False,
    ),
    "pinned_gang": (
        JobSpec(
            "job-0004",
            ("python3", "train.py"),
            "h100",
            nodes=2,
            accelerators_per_node=8,
            partition="cl1",
            node_names=("gpu-r0-n000", "gpu-r0-n001"),
        ),
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_script_matches_its_golden_file(case: str) -> None:
    spec, accounting = CASES[case]
    script = render_sbatch(spec, cluster="alpha", log_dir="/var/log/pnyx", accounting=accounting)
    golden = GOLDEN / f"{case}.sbatch"
    if os.environ.get("PNYX_UPDATE_GOLDEN") == "1":
        golden.write_text(script)
    assert script == golden.read_text()


def test_the_exec_line_gives_back_the_exact_argv() -> None:
    spec, _ = CASES["gang_checkpoint_account"]
    script = render_sbatch(spec, cluster="alpha", log_dir="/logs")
    exec_line = script.splitlines()[-1]
    assert exec_line.startswith("exec ")
    argv = tuple(shlex.split(exec_line)[1:])
    assert argv[0] == "srun"  # two nodes: once per node
    assert argv[-len(spec.command) :] == spec.command
    one_node, _ = CASES["single_gpu"]
    line = render_sbatch(one_node, cluster="alpha", log_dir="/logs").splitlines()[-1]
    assert tuple(shlex.split(line)[1:]) == one_node.command


def test_environment_values_are_quoted_for_the_shell() -> None:
    spec, _ = CASES["gang_checkpoint_account"]
    script = render_sbatch(spec, cluster="alpha", log_dir="/logs")
    line = next(x for x in script.splitlines() if x.startswith("export GREETING="))
    assert shlex.split(line.removeprefix("export "))[0] == "GREETING=hello world; echo $PATH"


def test_account_is_rendered_only_with_accounting() -> None:
    spec, _ = CASES["gang_checkpoint_account"]
    with_acct = render_sbatch(spec, cluster="a", log_dir="/l", accounting=True)
    without = render_sbatch(spec, cluster="a", log_dir="/l", accounting=False)
    assert "#SBATCH --account=proj-7" in with_acct
    assert "--account" not in without


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(1, "0-00:01:00"), (60, "0-00:01:00"), (61, "0-00:02:00"), (86400, "1-00:00:00")],
)
def test_time_limits_round_up_to_whole_minutes(seconds: int, expected: str) -> None:
    assert format_time_limit(seconds) == expected


def test_job_names_round_trip_and_foreign_names_are_ignored() -> None:
    assert job_id_of(job_name("j-42.a_b")) == "j-42.a_b"
    assert job_id_of("pnyx-") is None
    assert job_id_of("interactive") is None


BAD_SPECS = {
    "id with a space": JobSpec("job 1", ("true",), "h100"),
    "id with a slash": JobSpec("../job", ("true",), "h100"),
    "empty command": JobSpec("j1", (), "h100"),
    "no nodes": JobSpec("j1", ("true",), "h100", nodes=0),
    "zero time limit": JobSpec("j1", ("true",), "h100", time_limit_s=0),
    "type with a colon": JobSpec("j1", ("true",), "h100:8"),
    "partition with a space": JobSpec("j1", ("true",), "h100", partition="cl1 --x"),
    "bad env name": JobSpec("j1", ("true",), "h100", env={"A-B": "1"}),
    "bad signal": JobSpec("j1", ("true",), "h100", checkpoint_signal="USR1;reboot"),
    "relative workdir": JobSpec("j1", ("true",), "h100", workdir="scratch"),
    "node list of the wrong length": JobSpec("j1", ("true",), "h100", node_names=("a", "b")),
    "node name with a comma": JobSpec("j1", ("true",), "h100", node_names=("a,b",)),
}


@pytest.mark.parametrize("what", sorted(BAD_SPECS))
def test_unsafe_or_impossible_specs_are_refused(what: str) -> None:
    with pytest.raises(BackendError):
        render_sbatch(BAD_SPECS[what], cluster="alpha", log_dir="/logs")


def test_a_relative_log_dir_is_refused() -> None:
    with pytest.raises(BackendError, match="log_dir"):
        render_sbatch(JobSpec("j1", ("true",), "h100"), cluster="alpha", log_dir="logs")
