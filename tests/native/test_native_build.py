"""The native build (mypyc, ``make native``) makes the same decisions as the sources.

The compiled modules are built once, into a copy of the tree (this session's own sources
stay interpreted). Then: the copy really runs native code; the scheduling unit tests pass
on it; and reference simulations write byte-identical per-segment job files (every start,
end, preemption and requeue) in both builds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pnyx.native import build_in_place, copy_source_tree

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "examples" / "traces" / "philly.csv"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REFERENCE_RUNS = {
    # fair share with entitlement preemption on the 304-accelerator week
    "week-304-pnyx": "--accelerators 304 --policy pnyx --start 2017-11-13 --end 2017-11-20",
    # two accelerator types, node failures, an overloaded day, release passes (backfilling)
    "day-2k-pnyx-types-failures": "--accelerators 2000 --policy pnyx --start 2017-11-13 "
    "--end 2017-11-14 --load 2.0 --types 2 --mtbf-h 2000 --tick-s 60 --release-passes",
    # least attained service: the attained-service judge; strict release passes
    "day-2k-las": "--accelerators 2000 --policy las --start 2017-11-13 --end 2017-11-14 "
    "--load 2.0 --types 2 --mtbf-h 2000 --tick-s 60 --release-passes",
    # 100,000 accelerators of three types with FIFO + EASY backfill
    "hours-100k-backfill": "--accelerators 100000 --policy backfill --start 2017-11-13 "
    "--end 2017-11-13T03:00 --load 1.2 --types 3 --tick-s 60",
}


def run_python(src: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Python with ``src`` first on the path (ahead of the editable install)."""
    env = {k: v for k, v in os.environ.items() if k != "PNYX_NATIVE"}
    env["PYTHONPATH"] = str(src)
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def plain_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sources as they are (interpreted)."""
    return copy_source_tree(ROOT, tmp_path_factory.mktemp("plain") / "tree")


@pytest.fixture(scope="module")
def native_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sources with the native build made in place (``make native``'s command)."""
    src = copy_source_tree(ROOT, tmp_path_factory.mktemp("native") / "tree")
    build = build_in_place(src.parent)
    if build.returncode != 0:
        pytest.fail(f"the native build failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}")
    return src


def build_of(src: Path) -> tuple[str, int]:
    """What a copy runs: its build name and how many compiled modules it has."""
    probe = "import pnyx.native as n; print(n.build_name(), len(n.compiled_modules()))"
    done = run_python(src, "-c", probe, timeout=120)
    assert done.returncode == 0, done.stderr
    name, count = done.stdout.split()
    return name, int(count)


def simulate(src: Path, args: list[str], out: Path) -> dict[str, object]:
    """`pnyx sim run` in the copy; its JSON (the job file goes to ``out``)."""
    cli = "import sys; from pnyx.cli.main import app; app(sys.argv[1:], prog_name='pnyx')"
    done = run_python(
        src, "-c", cli, "sim", "run", "--trace", str(TRACE), "--jobs-out", str(out), "--json", *args
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_native_copy_runs_compiled_modules(native_src: Path, plain_src: Path) -> None:
    setup_py = (ROOT / "setup.py").read_text()
    simulator = ("src/pnyx/sim/engine.py", "src/pnyx/sim/replay.py")
    assert all(path in setup_py for path in simulator)
    expected = len(list((ROOT / "src/pnyx/sched").glob("*.py"))) + len(simulator)
    assert build_of(native_src) == ("native", expected)
    assert build_of(plain_src) == ("interpreted", 0)


def test_the_scheduling_unit_tests_pass_on_the_native_build(native_src: Path) -> None:
    done = run_python(
        native_src,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(ROOT / "tests/unit/scheduling"),
        "--rootdir",
        str(ROOT),
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert " passed" in done.stdout.splitlines()[-1]


@pytest.mark.parametrize("name", sorted(REFERENCE_RUNS))
def test_native_and_interpreted_builds_make_the_same_decisions(
    name: str, native_src: Path, plain_src: Path, tmp_path: Path
) -> None:
    args = REFERENCE_RUNS[name].split()
    plain = simulate(plain_src, args, tmp_path / "plain.jsonl")
    native = simulate(native_src, args, tmp_path / "native.jsonl")
    assert (plain["build"], native["build"]) == ("interpreted", "native")
    jobs = (tmp_path / "plain.jsonl").read_bytes()
    assert jobs.count(b"\n") >= int(str(plain["jobs"])) > 0  # a segment or more per job
    assert (tmp_path / "native.jsonl").read_bytes() == jobs
    timing = {"wall_s", "jobs_per_s", "peak_rss_mib", "build"}
    assert {k: v for k, v in native.items() if k not in timing} == {
        k: v for k, v in plain.items() if k not in timing
    }
