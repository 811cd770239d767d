"""pnyx job submit / show / list / cancel / logs.

Local commands (``--data`` / ``--db``) act as the facility's administrator (an operator), or
with ``--as PRINCIPAL`` as that principal; with ``--url`` they call a running server with
``--token``. A job's command follows ``--``::

    pnyx job submit --project alpha --award c1.001 --types h100,a100 --nodes 2 \\
        --gpus-per-node 8 --time 4h --containment CL-1 -- python -m train --steps 1000
"""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from pnyx.cli.common import AsOpt, DataOpt, DbOpt, JsonOpt, TokenOpt, UrlOpt, console, emit
from pnyx.cli.source import Source
from pnyx.domain.jobs import parse_duration
from pnyx.errors import InvalidInputError
from pnyx.services import jobs as svc
from pnyx.services.jobs_dto import JobLogView, JobRequest, JobView

API = "/api/v1/jobs"
app = typer.Typer(help="Jobs: submit, follow, cancel; read their logs.", no_args_is_help=True)


def parse_env(values: list[str]) -> dict[str, str]:
    """["K=V", ...] -> {"K": "V"} (a value may contain '=')."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInputError(f"--env: expected NAME=VALUE, got {item!r}")
        out[key] = value
    return out


def build_request(spec_file: Path | None, overrides: dict[str, Any]) -> JobRequest:
    """A job request from ``--spec FILE.json`` (if any) with the given options on top."""
    fields: dict[str, Any] = {}
    if spec_file is not None:
        try:
            loaded = jsonlib.loads(spec_file.read_text())
        except jsonlib.JSONDecodeError as e:
            raise InvalidInputError(f"{spec_file}: not JSON: {e}") from None
        if not isinstance(loaded, dict):
            raise InvalidInputError(f"{spec_file}: a job spec is a JSON object")
        fields.update(loaded)
    fields.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return JobRequest.model_validate(fields)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "spec"
        raise InvalidInputError(f"{where}: {first['msg']}") from None


@app.command(
    "submit", context_settings={"allow_interspersed_args": False, "ignore_unknown_options": False}
)
def submit(
    command: Annotated[
        list[str] | None, typer.Argument(help="the program and its arguments")
    ] = None,
    project: Annotated[str | None, typer.Option(help="project id")] = None,
    award: Annotated[str | None, typer.Option(help="award id the job is charged to")] = None,
    types: Annotated[str | None, typer.Option(help="acceptable types, e.g. h100,a100")] = None,
    nodes: Annotated[int | None, typer.Option(help="nodes in the gang")] = None,
    gpus_per_node: Annotated[int | None, typer.Option(help="accelerators per node")] = None,
    time: Annotated[str | None, typer.Option(help="time limit: 90s, 30m, 4h, 1d, HH:MM:SS")] = None,
    containment: Annotated[str | None, typer.Option(help="CL-1 .. CL-4")] = None,
    preemptible: Annotated[bool | None, typer.Option("--preemptible/--not-preemptible")] = None,
    checkpoint_signal: Annotated[str | None, typer.Option(help="e.g. USR1")] = None,
    grace: Annotated[str | None, typer.Option(help="signal this long before the limit")] = None,
    dataset: Annotated[list[str] | None, typer.Option(help="name@version; repeat")] = None,
    env: Annotated[list[str] | None, typer.Option(help="NAME=VALUE; repeat")] = None,
    name: Annotated[str | None, typer.Option(help="a name for people")] = None,
    workdir: Annotated[str | None, typer.Option(help="working directory")] = None,
    spec: Annotated[Path | None, typer.Option(help="JSON job spec; options override it")] = None,
    as_: AsOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Submit a job; its command follows `--`."""
    overrides: dict[str, Any] = {
        "project_id": project,
        "award_id": award,
        "accelerator_types": [t.strip() for t in types.split(",") if t.strip()] if types else None,
        "nodes": nodes,
        "accelerators_per_node": gpus_per_node,
        "time_limit_s": parse_duration(time, "--time") if time else None,
        "containment": containment,
        "preemptible": preemptible,
        "checkpoint_signal": checkpoint_signal,
        "grace_s": parse_duration(grace, "--grace") if grace else None,
        "datasets": dataset or None,
        "env": parse_env(env) if env else None,
        "name": name,
        "workdir": workdir,
        "command": command or None,
    }
    request = build_request(spec, overrides)
    view = Source(data, db, url, token, as_).write(
        API, request.model_dump(), lambda c, a: svc.submit_job(c, a, request), model=JobView
    )
    emit(view, json, lambda v: console.print(f"submitted {v.job_id} ({v.state})"))


@app.command("show")
def show(
    job_id: str,
    as_: AsOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """One job: its spec, state, placement, exit code and history."""
    view = Source(data, db, url, token, as_).read(
        f"{API}/{job_id}", lambda c, a: svc.visible_to(svc.get_job(c, job_id), a), model=JobView
    )
    emit(view, json, _render_job)


@app.command("list")
def list_(
    state: Annotated[list[str] | None, typer.Option(help="only jobs in this state; repeat")] = None,
    cluster: Annotated[str | None, typer.Option(help="only jobs placed on this cluster")] = None,
    as_: AsOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Jobs in submission order (--state takes one state, or several separated by commas)."""
    states = [s.strip() for item in state or () for s in item.split(",") if s.strip()] or None
    params: dict[str, Any] = {"state": states} if states else {}
    if cluster:
        params["cluster"] = cluster
    views = Source(data, db, url, token, as_).read(
        API,
        lambda c, a: [svc.visible_to(v, a) for v in svc.list_jobs(c, states, cluster)],
        model=list[JobView],
        params=params,
    )
    emit(views, json, _render_list)


@app.command("cancel")
def cancel(
    job_id: str,
    reason: Annotated[str, typer.Option(help="why")],
    as_: AsOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Cancel a job (at once when queued; through its engine when it holds the job)."""
    view = Source(data, db, url, token, as_).write(
        f"{API}/{job_id}/cancel",
        {"reason": reason},
        lambda c, a: svc.visible_to(svc.cancel_job(c, a, job_id, reason), a),
        model=JobView,
    )
    emit(
        view,
        json,
        lambda v: console.print(
            f"{v.job_id}: {'cancel requested' if v.cancel_requested else v.state}"
        ),
    )


@app.command("logs")
def logs(
    job_id: str,
    as_: AsOpt = None,
    data: DataOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """The kept tail (64 KiB) of a job's log (its submitter and operators)."""
    view = Source(data, db, url, token, as_).read(
        f"{API}/{job_id}/logs", lambda c, a: svc.get_job_log(c, a, job_id), model=JobLogView
    )
    emit(view, json, lambda v: typer.echo(v.text, nl=False))


def _render_job(v: JobView) -> None:
    gang = f"{v.nodes} x {v.accelerators_per_node} {'/'.join(v.accelerator_types)}"
    console.print(f"[bold]{v.job_id}[/bold] {v.name or ''}  {v.state}: {v.state_reason}")
    console.print(f"  project {v.project_id}, award {v.award_id}, submitted by {v.submitter}")
    console.print(f"  gang {gang}, time limit {v.time_limit_s} s, {v.containment}")
    console.print(f"  command: {' '.join(v.command)}", highlight=False)
    if v.cluster:
        console.print(f"  placed on {v.cluster} ({v.accelerator_type}) {v.backend_job_id or ''}")
    if v.pending_reason:
        since = f" (since {v.pending_since})" if v.pending_since else ""
        console.print(f"  pending{since}: {v.pending_reason}", highlight=False)
    if v.exit_code is not None:
        console.print(f"  exit code {v.exit_code}")
    for h in v.history:
        console.print(f"  {h.at}  {h.state:<10} {h.reason}", highlight=False)


def _render_list(views: list[JobView]) -> None:
    table = Table("job", "name", "project", "state", "cluster", "type", "gang", "exit")
    for v in views:
        table.add_row(
            v.job_id,
            v.name or "",
            v.project_id,
            v.state,
            v.cluster or "",
            v.accelerator_type or "",
            f"{v.nodes}x{v.accelerators_per_node}",
            "" if v.exit_code is None else str(v.exit_code),
        )
    console.print(table)
