"""pnyx witness: register witnesses (operators) and run one (member states)."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from pnyx.cli.common import DataOpt, DbOpt, JsonOpt, TokenOpt, UrlOpt, console, emit, open_context
from pnyx.cli.remote import Remote
from pnyx.domain.identity import Actor
from pnyx.errors import InvalidInputError
from pnyx.ledger import note
from pnyx.services import witnesses
from pnyx.services.logkey import parse_key_file, write_key_file
from pnyx.services.witness_client import run_witness

app = typer.Typer(help="Witnesses: check the log's consistency and cosign its checkpoints.")

LOCAL = Actor.system()


@app.command("keygen")
def keygen(
    name: Annotated[str, typer.Argument(help="key name, e.g. witness.de.example")],
    out: Annotated[Path, typer.Option("--out", help="key file to create (mode 0600)")],
    json: JsonOpt = False,
) -> None:
    """Create a witness (cosignature/v1) key; prints the verifier key to register."""
    signer = note.generate_signer(name, note.ALG_COSIGNATURE_V1)
    write_key_file(out, signer.key_string)
    result = {"name": name, "key_file": str(out), "verifier_key": signer.verifier_key}
    emit(result, json, lambda r: console.print(r["verifier_key"], highlight=False, soft_wrap=True))


@app.command("register")
def register(
    name: Annotated[str, typer.Argument(help="display name, e.g. 'Germany (BSI)'")],
    verifier_key: Annotated[str, typer.Argument(help="the witness's verifier key")],
    member: Annotated[str | None, typer.Option(help="member state running it")] = None,
    data: DataOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Register a witness whose cosignatures the log accepts (operators)."""
    if url:
        body = {"name": name, "verifier_key": verifier_key, "member_id": member}
        out = Remote(url, token).post("/api/v1/log/witnesses", body)
    else:
        ctx = open_context(data, db)
        out = witnesses.register_witness(ctx, LOCAL, name, verifier_key, member).model_dump()
    emit(out, json, lambda w: console.print(f"registered witness {w['witness_id']} ({w['name']})"))


@app.command("list")
def list_witnesses(
    data: DataOpt = None, db: DbOpt = None, url: UrlOpt = None, json: JsonOpt = False
) -> None:
    """The registered witnesses."""
    if url:
        out = Remote(url).get("/api/v1/log/witnesses")
    else:
        out = [w.model_dump() for w in witnesses.list_witnesses(open_context(data, db))]
    emit(out, json, _render_list)


@app.command("run")
def run(
    url: Annotated[str, typer.Option("--url", help="base URL of the pnyx log server")],
    key: Annotated[Path, typer.Option("--key", help="the witness key file (from keygen)")],
    state: Annotated[Path, typer.Option("--state", help="state file (created on first run)")],
    json: JsonOpt = False,
) -> None:
    """Check the latest checkpoint against the last one seen, then cosign it."""
    signer = parse_key_file(key)
    if signer.alg != note.ALG_COSIGNATURE_V1:
        raise InvalidInputError(f"{key} is not a witness key (type 0x04): use `witness keygen`")
    with httpx.Client(base_url=url.rstrip("/"), timeout=30.0) as client:
        report = run_witness(client, signer, state, int(time.time()))
    emit(asdict(report), json, _render_run)


def _render_list(rows: list[dict[str, Any]]) -> None:
    for w in rows:
        member = f" for {w['member_id']}" if w["member_id"] else ""
        line = f"{w['witness_id']}  {w['name']}{member}  {w['verifier_key']}"
        console.print(line, highlight=False, soft_wrap=True)


def _render_run(r: dict[str, Any]) -> None:
    seen = f"consistent with size {r['old_size']}" if r["old_size"] else "first contact"
    line = f"cosigned checkpoint {r['size']} ({seen}); root {r['root_hash']}"
    console.print(line, highlight=False, soft_wrap=True)
