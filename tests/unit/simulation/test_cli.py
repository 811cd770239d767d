"""`pnyx sim run` through the CLI with a tiny run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pnyx.cli.main import app
from pnyx.errors import InvalidInputError

SAMPLE = Path(__file__).parents[2] / "data" / "philly-sample.csv"
KEYS = {
    "policy",
    "jobs",
    "accelerators",
    "utilisation",
    "wait_s",
    "jct_s",
    "large_jobs_wait_s",
    "share_deviation_pp",
    "jain_index",
    "members",
    "wall_s",
}


def run(*extra: str) -> tuple[int, str, BaseException | None]:
    args = ["sim", "run", "--trace", str(SAMPLE), "--accelerators", "64", *extra]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output, result.exception


def test_sim_run_prints_the_design_json_and_writes_segments(tmp_path: Path) -> None:
    shares = tmp_path / "shares.json"
    shares.write_text(json.dumps({"11cb48": 3, "6214e9": 1}))
    jobs_out = tmp_path / "jobs.csv"
    code, output, _ = run(
        "--policy", "backfill", "--start", "2017-11-14T06:00", "--end", "2017-11-15",
        "--shares", str(shares), "--jobs-out", str(jobs_out), "--seed", "1", "--json",
    )  # fmt: skip
    assert code == 0, output
    out = json.loads(output)
    assert out.keys() >= KEYS
    assert out["policy"] == "backfill" and out["accelerators"] == 64
    assert set(out["wait_s"]) == {"mean", "p50", "p99"} == set(out["jct_s"])
    assert {"mean", "p99"} <= out["large_jobs_wait_s"].keys()
    assert set(out["share_deviation_pp"]) == {"max", "mean"}
    enacted = {m: v["enacted_share"] for m, v in out["members"].items()}
    assert sum(enacted.values()) == pytest.approx(1.0)
    assert enacted["11cb48"] == pytest.approx(3 * enacted["6214e9"])
    assert enacted["6214e9"] > 0 and enacted["6c71a0"] == 0
    rows = list(csv.reader(jobs_out.open()))
    assert rows[0] == ["job", "member", "accelerators", "submit_s", "start_s", "end_s", "outcome"]
    assert len({r[0] for r in rows[1:]}) == out["jobs"]
    assert {r[6] for r in rows[1:]} <= {"completed", "preempted", "failed"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--policy", "nope"), "unknown policy"),
        (("--policy", "fifo", "--start", "someday"), "--start"),
        (("--policy", "fifo", "--load", "-1"), "--load"),
    ],
)
def test_sim_run_refuses_bad_input_with_a_clear_error(args: tuple[str, ...], message: str) -> None:
    code, _, error = run(*args, "--json")
    assert code != 0
    assert isinstance(error, InvalidInputError) and message in str(error)
