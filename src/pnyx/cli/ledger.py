"""pnyx ledger: the transparency log (checkpoints, head, proofs; verify comes below)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pnyx.cli import ledger_verify
from pnyx.cli.common import DataOpt, DbOpt, JsonOpt, TokenOpt, UrlOpt, console, emit, open_context
from pnyx.cli.remote import Remote
from pnyx.domain.identity import Actor
from pnyx.ledger import note
from pnyx.services import checkpoints, ledger
from pnyx.services.logkey import write_key_file

app = typer.Typer(help="The transparency log: checkpoints, proofs, verification.")

# Local commands act as the facility's own administrator (direct store access).
LOCAL = Actor.system()


@app.command("checkpoint")
def checkpoint(
    data: DataOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Sign a checkpoint of the current tree head now (the existing one if unchanged)."""
    if url:
        out = Remote(url, token).post("/api/v1/log/checkpoints", None)
    else:
        view, _ = checkpoints.issue_checkpoint(open_context(data, db), LOCAL)
        out = view.model_dump()
    emit(out, json, _render_checkpoint)


@app.command("head")
def head(data: DataOpt = None, db: DbOpt = None, url: UrlOpt = None, json: JsonOpt = False) -> None:
    """The current tree size and root, and the latest checkpoint."""
    if url:
        out = Remote(url).get("/api/v1/log/head")
    else:
        out = ledger.log_head(open_context(data, db)).model_dump()
    emit(out, json, _render_head)


@app.command("proof")
def proof(
    index: Annotated[int, typer.Argument(help="index of the entry (its seq)")],
    size: Annotated[int | None, typer.Option(help="tree size (default: latest checkpoint)")] = None,
    data: DataOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    json: JsonOpt = False,
) -> None:
    """Inclusion proof of one entry."""
    if url:
        params = {"index": index} | ({"size": size} if size is not None else {})
        out = Remote(url).get("/api/v1/log/proof/inclusion", **params)
    else:
        out = ledger.prove_inclusion(open_context(data, db), index=index, size=size).model_dump()
    emit(out, json, _render_proof)


@app.command("keygen")
def keygen(
    origin: Annotated[str, typer.Argument(help="the log origin, e.g. pnyx.example.org/facility")],
    out: Annotated[Path, typer.Option("--out", help="key file to create (mode 0600)")],
    json: JsonOpt = False,
) -> None:
    """Create the log's signing key (for PNYX_LOG_KEY_FILE); prints its verifier key."""
    signer = note.generate_signer(origin)
    write_key_file(out, signer.key_string)
    result = {"origin": origin, "key_file": str(out), "verifier_key": signer.verifier_key}
    emit(result, json, lambda r: console.print(r["verifier_key"], highlight=False, soft_wrap=True))


# --- pnyx ledger verify ------------------------------------------------------------------------
# `pnyx ledger verify [--data DIR | --db URL | --url URL]` (issue 3, item 5): see ledger_verify.
app.command("verify")(ledger_verify.verify)


def _render_checkpoint(out: dict[str, Any]) -> None:
    console.print(f"checkpoint of size {out['size']}, issued {out['issued_at']}:")
    sys.stdout.write(out["note"])  # verbatim: a signed note must not be re-wrapped


def _render_head(out: dict[str, Any]) -> None:
    console.print(
        f"tree size {out['size']}, root {out['root_hash']}", highlight=False, soft_wrap=True
    )
    latest = out["checkpoint"]
    if latest is None:
        console.print("no checkpoint issued yet")
    else:
        console.print(f"latest checkpoint: size {latest['size']}, issued {latest['issued_at']}")


def _render_proof(out: dict[str, Any]) -> None:
    console.print(
        f"entry {out['index']} (leaf {out['leaf_hash']}) in tree {out['size']} "
        f"(root {out['root_hash']}):",
        highlight=False,
        soft_wrap=True,
    )
    for element in out["proof"]:
        console.print(f"  {element}", highlight=False, soft_wrap=True)
