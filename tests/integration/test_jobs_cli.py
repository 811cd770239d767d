"""The job CLI: submit (options and --spec), show/list --json round trip, cancel, logs, one-line
refusals; and the same commands over --url against a real `pnyx up`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pnyx_server import Server, cli_env, run_cli, run_json
from tests.conftest import FakeClock
from tests.integration.jobs_setup import OPERATOR, JobWorld, add_dataset, build_world
from typer.testing import CliRunner

from pnyx.cli.main import app as cli
from pnyx.services import identity
from pnyx.services import jobs as svc
from pnyx.services.context import ServiceContext, utc_now
from pnyx.services.setup import build_context
from pnyx.settings import Settings
from pnyx.store.db import url_for_data_dir


def around_today() -> tuple[str, str]:
    """An award period holding today (the CLI reads the wall clock)."""
    today = utc_now().date()
    return (today - timedelta(days=30)).isoformat(), (today + timedelta(days=300)).isoformat()


def invoke(ctx: ServiceContext, *args: str, command: tuple[str, ...] = ()) -> Any:
    argv = [*args, "--db", ctx.db.url, "--json"]
    if command:
        argv += ["--", *command]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


SUBMIT = (
    "job", "submit", "--as", "alice", "--project", "alpha", "--types", "a100,h100",
    "--nodes", "1", "--gpus-per-node", "8", "--time", "1h30m", "--containment", "CL-1",
    "--preemptible", "--checkpoint-signal", "USR1", "--grace", "60",
    "--dataset", "web-text@1", "--env", "HF_TOKEN=s3cr=t", "--name", "pretrain",
)  # fmt: skip


def test_submit_show_list_round_trip(ctx: ServiceContext, tmp_path: Path) -> None:
    world = build_world(ctx, around_today())
    add_dataset(ctx, tmp_path)
    made = invoke(
        ctx, *SUBMIT, "--award", world.award_alpha, command=("python", "-m", "train", "--x", "1")
    )
    assert made["command"] == ["python", "-m", "train", "--x", "1"]
    assert (made["time_limit_s"], made["grace_s"], made["preemptible"]) == (5400, 60, True)
    assert made["accelerator_types"] == ["h100"] and made["datasets"] == ["web-text@1"]
    assert made["state_reason"] == "admitted; acceptable types dropped (a100: not awarded)"
    assert made["env"] == {"HF_TOKEN": "s3cr=t"}
    shown = invoke(ctx, "job", "show", made["job_id"], "--as", "alice")
    assert shown == made
    assert invoke(ctx, "job", "show", made["job_id"], "--as", "bob")["env"] is None
    assert invoke(ctx, "job", "list") == [made]  # the administrator sees everything
    assert invoke(ctx, "job", "list", "--state", "running") == []
    assert invoke(ctx, "job", "list", "--state", "running,queued", "--as", "alice") == [made]


def test_spec_file_with_options_on_top(ctx: ServiceContext, tmp_path: Path) -> None:
    world = build_world(ctx, around_today())
    spec = {
        "project_id": "alpha",
        "award_id": world.award_alpha,
        "command": ["echo", "hi"],
        "accelerator_types": ["h100"],
        "accelerators_per_node": 4,
        "time_limit_s": 600,
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(spec))
    made = invoke(ctx, "job", "submit", "--spec", str(path), "--nodes", "2", "--as", "alice")
    assert (made["nodes"], made["accelerators_per_node"], made["command"]) == (2, 4, ["echo", "hi"])
    shown = invoke(ctx, "job", "show", made["job_id"])
    assert {k: shown[k] for k in spec} == spec


def test_cancel_logs_and_refusals(ctx: ServiceContext, tmp_path: Path) -> None:
    world = build_world(ctx, around_today())
    add_dataset(ctx, tmp_path)
    job = invoke(ctx, *SUBMIT, "--award", world.award_alpha, command=("true",))
    svc.record_job_log(ctx, OPERATOR, job["job_id"], "hello from the job\n")
    logs = invoke(ctx, "job", "logs", job["job_id"], "--as", "alice")
    assert logs["text"] == "hello from the job\n"
    plain = CliRunner().invoke(cli, ["job", "logs", job["job_id"], "--db", ctx.db.url])
    assert plain.stdout == "hello from the job\n"
    gone = invoke(ctx, "job", "cancel", job["job_id"], "--reason", "done", "--as", "alice")
    assert gone["state"] == "cancelled"
    refused = CliRunner().invoke(
        cli, ["job", "logs", job["job_id"], "--as", "bob", "--db", ctx.db.url]
    )
    assert refused.exit_code != 0 and "private" in str(refused.exception)
    bad = CliRunner().invoke(
        cli,
        ["job", "submit", "--project", "alpha", "--award", world.award_alpha, "--types", "h100",
         "--time", "soon", "--db", ctx.db.url, "--", "true"],
    )  # fmt: skip
    assert bad.exit_code != 0 and "--time" in str(bad.exception)


@pytest.mark.slow
def test_the_job_commands_over_url(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ctx = build_context(Settings(data_dir=data, db_url=url_for_data_dir(data)))
    ctx.clock = FakeClock()  # build_world moves it through the call's phases
    world: JobWorld = build_world(ctx, around_today())
    token = identity.issue_token(ctx, OPERATOR, "alice").token
    ctx.db.dispose()
    env = cli_env()
    server = Server(["--data", str(data)], env, tmp_path / "server.log")
    try:
        remote = ["--url", server.url, "--token", token]
        submit = ["job", "submit", "--project", "alpha", "--award", world.award_alpha]
        submit += ["--types", "h100", "--gpus-per-node", "1", "--time", "10m", *remote]
        made = run_json([*submit, "--env", "K=v", "--json", "--", "true"], env)
        assert made["submitter"] == "alice" and made["env"] == {"K": "v"}
        shown = run_json(["job", "show", made["job_id"], *remote], env)
        assert shown["job_id"] == made["job_id"] and shown["env"] == {"K": "v"}
        listed = run_json(["job", "list", *remote], env)
        assert [j["job_id"] for j in listed] == [made["job_id"]]
        anonymous = run_json(["job", "show", made["job_id"], "--url", server.url], env)
        assert anonymous["env"] is None
        refused = run_cli([*submit, "--nodes", "9", "--", "true"], env, check=False)
        assert refused.returncode == 1 and "with 9 node(s)" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    finally:
        server.stop()
