"""SlurmBackend's commands, with a scripted runner instead of Slurm (no process is started)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from pnyx.backends.base import (
    Backend,
    BackendError,
    BackendState,
    BackendUnavailableError,
    JobSpec,
)
from pnyx.backends.slurm import SlurmBackend, SlurmConfig

DATA = Path(__file__).parents[2] / "data" / "slurm"
Reply = tuple[int, str, str]  # returncode, stdout, stderr


class ScriptedSlurm:
    """Answers each command by its name; records every argv (and sbatch's script)."""

    def __init__(self, replies: Mapping[str, Reply | Callable[[Sequence[str]], Reply]]) -> None:
        self.replies = dict(replies)
        self.argvs: list[list[str]] = []
        self.scripts: list[str] = []

    def __call__(
        self, argv: Sequence[str], *, env: Mapping[str, str], input: str | None, timeout_s: float
    ) -> subprocess.CompletedProcess[str]:
        self.argvs.append(list(argv))
        assert env["TZ"] == "UTC"
        if input is not None:
            self.scripts.append(input)
        reply = self.replies.get(argv[0], (0, "", ""))
        code, out, err = reply(argv) if callable(reply) else reply
        return subprocess.CompletedProcess(list(argv), code, out, err)

    def names(self) -> list[str]:
        return [a[0] for a in self.argvs]


def backend(slurm: ScriptedSlurm, tmp_path: Path, **kw: object) -> SlurmBackend:
    config = SlurmConfig(conf="/etc/x/slurm.conf", log_dir=str(tmp_path), **kw)  # type: ignore[arg-type]
    return SlurmBackend("alpha", config, run=slurm)


def spec(job_id: str = "j1", **kw: object) -> JobSpec:
    return JobSpec(job_id, ("python3", "train.py"), "h100", **kw)  # type: ignore[arg-type]


SQUEUE = (DATA / "squeue.json").read_text()
SACCT = (DATA / "sacct.txt").read_text()


def test_it_is_a_backend(tmp_path: Path) -> None:
    assert isinstance(backend(ScriptedSlurm({}), tmp_path), Backend)


def test_a_first_submit_keeps_the_script_and_runs_sbatch_without_look_up(tmp_path: Path) -> None:
    slurm = ScriptedSlurm({"sbatch": (0, "4242\n", "")})
    assert backend(slurm, tmp_path).submit(spec(containment=2)) == "4242"
    assert slurm.names() == ["sbatch"]
    assert "#SBATCH --partition=cl2" in slurm.scripts[0]  # containment 2 -> cl2
    assert (tmp_path / "j1.sbatch").read_text() == slurm.scripts[0]


def test_a_resubmit_looks_in_squeue_then_sacct_before_sbatch(tmp_path: Path) -> None:
    slurm = ScriptedSlurm({"sbatch": (0, "4242\n", "")})
    b = backend(slurm, tmp_path)
    b.submit(spec())
    b.submit(spec())  # Slurm knows no such job (say it was never accepted): submitted again
    assert slurm.names() == ["sbatch", "squeue", "sacct", "sbatch"]
    assert "--name=pnyx-j1" in slurm.argvs[1]


def test_a_resubmit_of_a_job_slurm_already_has_returns_its_id(tmp_path: Path) -> None:
    (tmp_path / "j1.sbatch").write_text("an earlier submit got this far")
    slurm = ScriptedSlurm({"squeue": (0, "77\n", "")})
    assert backend(slurm, tmp_path).submit(spec()) == "77"
    assert "sbatch" not in slurm.names()


def test_a_resubmit_finds_a_finished_job_in_sacct(tmp_path: Path) -> None:
    (tmp_path / "sample-ok.sbatch").write_text("an earlier submit got this far")
    slurm = ScriptedSlurm({"sacct": (0, SACCT, "")})
    assert backend(slurm, tmp_path).submit(spec("sample-ok")) == "1067"
    assert "sbatch" not in slurm.names()


def test_status_of_many_jobs_is_one_squeue_and_one_sacct(tmp_path: Path) -> None:
    slurm = ScriptedSlurm({"squeue": (0, SQUEUE, ""), "sacct": (0, SACCT, "")})
    ids = ["sample-running", "sample-ok", "gone-1", "gone-2"] + [f"x{i}" for i in range(500)]
    states = backend(slurm, tmp_path).status(ids)
    assert slurm.names() == ["squeue", "sacct"]
    assert states["sample-running"].state is BackendState.RUNNING
    assert states["sample-ok"].state is BackendState.SUCCEEDED
    assert states["gone-1"].state is BackendState.LOST
    assert len(states) == len(ids)
    sacct_names = next(a for a in slurm.argvs[1] if a.startswith("--name="))
    assert "pnyx-gone-1" in sacct_names and "pnyx-sample-ok" not in sacct_names


def test_status_of_jobs_all_in_squeue_needs_no_sacct(tmp_path: Path) -> None:
    slurm = ScriptedSlurm({"squeue": (0, SQUEUE, "")})
    backend(slurm, tmp_path).status(["sample-ok", "sample-held"])
    assert slurm.names() == ["squeue"]


def test_without_accounting_a_job_gone_from_squeue_is_lost(tmp_path: Path) -> None:
    slurm = ScriptedSlurm({"squeue": (0, SQUEUE, "")})
    states = backend(slurm, tmp_path, accounting=False).status(["gone"])
    assert states["gone"].state is BackendState.LOST
    assert slurm.names() == ["squeue"]


def test_accounting_has_one_record_per_finished_run(tmp_path: Path) -> None:
    requeued = (DATA / "sacct-requeued.txt").read_text()
    slurm = ScriptedSlurm({"sacct": (0, SACCT + requeued, "")})
    records = backend(slurm, tmp_path).accounting(
        ["sample-ok", "sample-running", "sample-requeued"]
    )
    by_job = sorted((r.job_id, r.accelerators, r.accelerator_type) for r in records)
    assert by_job == [
        ("sample-ok", 2, "h100"),
        ("sample-requeued", 8, "h100"),
        ("sample-requeued", 8, "h100"),
    ]
    assert slurm.names() == ["sacct"]  # still running: no record yet


@pytest.mark.parametrize(
    "stderr",
    [
        "slurm_load_jobs error: Unable to contact slurm controller (connect failure)",
        "sacct: error: Problem talking to the database: Connection refused",
    ],
)
def test_an_unreachable_engine_raises_unavailable(tmp_path: Path, stderr: str) -> None:
    slurm = ScriptedSlurm({"squeue": (1, "", stderr), "sacct": (1, "", stderr)})
    with pytest.raises(BackendUnavailableError):
        backend(slurm, tmp_path).status(["gone"])


def test_sbatch_that_cannot_reach_the_controller_is_unavailable(tmp_path: Path) -> None:
    err = "sbatch: error: Batch job submission failed: Unable to contact slurm controller"
    slurm = ScriptedSlurm({"sbatch": (1, "", err)})
    with pytest.raises(BackendUnavailableError):
        backend(slurm, tmp_path).submit(spec())


def test_sbatch_refusing_the_job_is_a_backend_error(tmp_path: Path) -> None:
    err = (
        "sbatch: error: Batch job submission failed: Requested node configuration is not available"
    )
    slurm = ScriptedSlurm({"sbatch": (1, "", err)})
    with pytest.raises(BackendError, match="refused") as info:
        backend(slurm, tmp_path).submit(spec())
    assert not isinstance(info.value, BackendUnavailableError)


def test_a_containment_level_without_partition_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="containment level 4"):
        backend(ScriptedSlurm({}), tmp_path).submit(spec(containment=4))


def test_cancel_and_signal_address_the_job_by_name(tmp_path: Path) -> None:
    slurm = ScriptedSlurm({"scancel": (1, "", "scancel: error: Invalid job id specified")})
    b = backend(slurm, tmp_path)
    b.cancel("j1")  # an unknown job is a no-op
    b.signal("j1", 10)
    assert slurm.argvs == [
        ["scancel", "--name=pnyx-j1"],
        ["scancel", "--full", "--signal=10", "--name=pnyx-j1"],
    ]


def test_logs_are_the_tail_of_the_output_file(tmp_path: Path) -> None:
    (tmp_path / "j1.out").write_text("a" * 100 + "the end")
    assert backend(ScriptedSlurm({}), tmp_path).logs("j1", tail_bytes=7) == "the end"


def test_nodes_come_from_sinfo(tmp_path: Path) -> None:
    slurm = ScriptedSlurm({"sinfo": (0, (DATA / "sinfo-node-down.json").read_text(), "")})
    states = {n.name: n.state for n in backend(slurm, tmp_path).nodes()}
    assert states == {"node1": "idle", "node2": "idle", "node3": "idle", "node4": "down"}


def test_sacct_names_are_sent_in_batches_that_fit_one_argument(tmp_path: Path) -> None:
    slurm = ScriptedSlurm({"squeue": (0, SQUEUE, "")})
    ids = [f"gone-{i:05d}-" + "x" * 90 for i in range(2500)]  # long ids: the worst case
    states = backend(slurm, tmp_path).status(ids)
    assert slurm.names() == ["squeue", "sacct", "sacct", "sacct"]  # 1,000 names per sacct
    assert max(len(a) for argv in slurm.argvs for a in argv) < 128 * 1024
    assert {s.state for s in states.values()} == {BackendState.LOST}
