"""pnyx council weights / propose / vote / close / list / show / verify / preview.

Local commands (``--data`` / ``--db``) act as the facility's administrator; with ``--url`` they
call a running server with ``--token``. ``vote`` always signs LOCALLY with the delegate's
private key file: the key never leaves this machine.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from pnyx.cli.common import (
    JsonOpt,
    console,
    emit,
    fail,
)
from pnyx.cli.source import Source, addressed
from pnyx.domain.ballot import BallotBody, sign_ballot
from pnyx.domain.governance import Choice
from pnyx.services import council as svc
from pnyx.services import council_read as read
from pnyx.services.context import format_time, utc_now
from pnyx.services.council_preview import DEFAULT_TRACE, PreviewSettings, preview_resolution
from pnyx.services.council_verify import ALL, recount
from pnyx.services.logsources import DbLogSource, HttpLogSource

API = "/api/v1/council"
weights_app = typer.Typer(help="Weight tables (population, contribution, accelerators).")


@weights_app.command("set")
@addressed()
def weights_set(file: Path, src: Source, json: JsonOpt = False) -> None:
    """Set the FIRST weight table from FILE {member: {population, contribution, accelerators}}."""
    from pnyx.cli.council import read_data

    weights = read_data(file)
    out = src.write(
        f"{API}/weights",
        {"weights": weights},
        lambda c, a: svc.adopt_weights(c, a, weights).model_dump(),
    )
    emit(out, json, lambda o: console.print(f"weight table v{o['version']} in force"))


@weights_app.command("show")
@addressed(token=False)
def weights_show(src: Source, json: JsonOpt = False) -> None:
    """The weight table in force."""
    out = src.read(f"{API}/weights", lambda c, _: read.current_weights(c).model_dump())
    emit(out, json, lambda o: console.print(o))


@addressed()
def propose(
    kind: Annotated[str, typer.Argument(help="resolution kind, e.g. set-programme-shares")],
    payload: Annotated[Path, typer.Option("--payload", help="payload file (JSON or YAML)")],
    title: Annotated[str, typer.Option(help="one line saying what is decided")],
    src: Source,
    voting_s: Annotated[int, typer.Option("--voting-s", help="length of the window")] = 86_400,
    rule: Annotated[str | None, typer.Option(help="preset name (default: kind's rule)")] = None,
    json: JsonOpt = False,
) -> None:
    """Propose a resolution; voting opens now."""
    from pnyx.cli.council import read_data

    body = read_data(payload)
    req = {"kind": kind, "payload": body, "title": title, "voting_s": voting_s, "rule": rule}
    out = src.write(
        f"{API}/resolutions",
        req,
        lambda c, a: svc.propose_resolution(
            c, a, kind, body, title=title, voting_s=voting_s, rule=rule
        ).model_dump(),
    )
    emit(out, json, lambda o: console.print(f"proposed {o['resolution_id']} ({o['kind']})"))


@addressed()
def vote(
    resolution: str,
    member: Annotated[str, typer.Option(help="the member this ballot is for")],
    choice: Annotated[str, typer.Option(help="yes, no or abstain")],
    key: Annotated[Path, typer.Option("--key", help="private key file (pnyx key generate)")],
    src: Source,
    principal: Annotated[str | None, typer.Option(help="the signing delegate")] = None,
    json: JsonOpt = False,
) -> None:
    """Sign a ballot locally with KEY and submit it."""
    body = BallotBody(resolution, member, choice, format_time(utc_now()))  # type: ignore[arg-type]
    signature = sign_ballot(body, load_private_key(key))
    req: dict[str, Any] = {"member": member, "choice": choice, "cast_at": body.cast_at}
    req |= {"signature": signature, "principal_id": principal}
    signed = svc.SignedBallot(body, signature, principal)
    out = src.write(
        f"{API}/resolutions/{resolution}/ballots",
        req,
        lambda c, a: svc.cast_ballot(c, a, signed).model_dump(),
    )
    emit(out, json, lambda o: console.print(f"ballot recorded at seq {o['seq']}: {o['choice']}"))


@addressed()
def close(resolution: str, src: Source, json: JsonOpt = False) -> None:
    """Close a resolution (after its window, or early once every eligible member voted)."""
    out = src.write(
        f"{API}/resolutions/{resolution}/close",
        {},
        lambda c, a: svc.close_resolution(c, a, resolution).model_dump(),
    )
    emit(out, json, lambda o: console.print(f"{o['resolution_id']}: {o['status']}"))


@addressed(token=False)
def list_resolutions(src: Source, json: JsonOpt = False) -> None:
    """Every resolution: id, kind, status, outcome."""
    rows = src.read(
        f"{API}/resolutions", lambda c, _: [r.model_dump() for r in read.list_resolutions(c)]
    )
    items = [_summary(r) for r in rows]
    emit(items, json, _render_list)


@addressed(token=False)
def show(resolution: str, src: Source, json: JsonOpt = False) -> None:
    """One resolution with its ballots and (while open) the live tally."""
    out = src.read(
        f"{API}/resolutions/{resolution}",
        lambda c, _: read.get_resolution(c, resolution).model_dump(),
    )
    emit(out, json)


@addressed(token=False)
def verify(resolution: str, src: Source, json: JsonOpt = False) -> None:
    """Recount RESOLUTION from the public record alone; exit 0 only if it matches."""
    if src.url:
        source = HttpLogSource(src.url)
        try:
            report = recount(source.entries(0, ALL), resolution)
        finally:
            source.close()
    else:
        report = recount(DbLogSource(src.ctx.db).entries(0, ALL), resolution)
    emit(report, json, _render_recount)
    if not report.ok:
        raise typer.Exit(1)


@addressed(url=False, token=False)
def preview(
    resolution: str,
    src: Source,
    trace: Annotated[
        Path | None, typer.Option("--trace", help="Philly-format CSV (default: philly.csv)")
    ] = None,
    accelerators: Annotated[
        int, typer.Option("--accelerators", help="simulated facility size (8..1024)")
    ] = 128,
    start: Annotated[str, typer.Option("--start", help="window start (ISO)")] = "2017-11-14",
    end: Annotated[str, typer.Option("--end", help="window end (ISO, exclusive)")] = "2017-11-15",
    load: Annotated[
        float | None, typer.Option("--load", help="offered load (0: as recorded)")
    ] = 1.5,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 0,
    static: Annotated[
        bool, typer.Option("--static", help="share arithmetic only, no simulation")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Before/after of a share resolution: share arithmetic, and the simulator on a trace
    window mapped onto the members (delivered share and wait per member, hours per programme)."""
    settings = PreviewSettings(
        trace=trace or DEFAULT_TRACE,
        accelerators=accelerators,
        start=_iso(start, "--start"),
        end=_iso(end, "--end"),
        load=load or None,
        seed=seed,
    )
    ctx = src.ctx
    emit(preview_resolution(ctx, resolution, settings, not static), json, _render_preview)


def _iso(value: str, flag: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        fail(f"{flag}: expected an ISO date like 2017-11-14, got {value!r}")


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file (one clear line if not)."""
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        fail(f"{path}: cannot read an Ed25519 private key: {e}")
    if not isinstance(key, Ed25519PrivateKey):
        fail(f"{path}: not an Ed25519 private key")
    return key


def _summary(r: dict[str, Any]) -> dict[str, Any]:
    keys = ("resolution_id", "kind", "title", "status", "passed", "decided_by", "closes_at")
    return {k: r[k] for k in keys}


def _render_list(items: list[dict[str, Any]]) -> None:
    for r in items:
        outcome = "" if r["passed"] is None else f" decided by {r['decided_by']}"
        console.print(
            f"{r['resolution_id']}  {r['kind']:22} {r['status']:7}{outcome}  {r['title']}"
        )


def _render_recount(report: Any) -> None:
    if report.ok:
        console.print(
            f"[green]ok[/green]: {report.resolution_id} recounted from the record"
            f" ({report.ballots} ballots): passed={report.recounted_passed}, as recorded"
        )
    else:
        console.print(f"[red]MISMATCH[/red] {report.resolution_id}: {report.error}")


def _render_preview(out: dict[str, Any]) -> None:
    console.print(f"{out['resolution_id']}: accelerator-hours per day (before -> after)")
    for section in ("programmes", "members"):
        for name, v in out[section].items():
            console.print(f"  {section[:-1]} {name}: {v['before']:.0f} -> {v['after']:.0f}")
    sim = out.get("simulated")
    if sim is None:
        console.print(f"simulation skipped: {out.get('simulation_skipped')}")
        return
    s = sim["settings"]
    console.print(
        f"simulated ({sim['jobs']} jobs, {s['accelerators']} accelerators, {s['start']} to"
        f" {s['end']}, load {s['load']}): delivered share, mean wait (before -> after)"
    )
    for name, m in sim["members"].items():
        d, w = m["delivered_share"], m["mean_wait_s"]
        console.print(
            f"  member {name}: {d['before']:.1%} -> {d['after']:.1%},"
            f" {w['before']:.0f} s -> {w['after']:.0f} s"
        )
    for name, v in sim["programmes"].items():
        console.print(f"  programme {name}: {v['before']:.0f} -> {v['after']:.0f} accel-h")


CHOICES = [c.value for c in Choice]
