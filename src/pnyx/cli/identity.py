"""pnyx member / principal / token / key / events."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from rich.table import Table

from pnyx.cli.common import JsonOpt, console, emit
from pnyx.cli.source import Source, addressed
from pnyx.domain.identity import Actor, NewPrincipal, parse_roles
from pnyx.services import events as events_svc
from pnyx.services import identity as svc

member_app = typer.Typer(help="Members of the facility (states, organisations).")
principal_app = typer.Typer(help="Principals: people and organisations that act.")
token_app = typer.Typer(help="API tokens.")
key_app = typer.Typer(help="Ed25519 signing keys of principals.")
events_app = typer.Typer(help="The public event stream.")

# Local commands act as the facility's own administrator (direct store access).
LOCAL = Actor.system()


@member_app.command("admit")
@addressed(url=False, token=False)
def admit(
    member_id: str,
    name: Annotated[str, typer.Option(help="display name")],
    src: Source,
    json: JsonOpt = False,
) -> None:
    """Admit a member."""
    view = svc.admit_member(src.ctx, LOCAL, member_id, name)
    emit(view, json, lambda v: console.print(f"admitted member {v.member_id} ({v.name})"))


@member_app.command("list")
@addressed(url=False, token=False)
def list_members(src: Source, json: JsonOpt = False) -> None:
    """List members."""
    page = svc.list_members(src.ctx, 0, 500)
    emit(
        page.items,
        json,
        lambda items: _table(["member", "name"], [[m.member_id, m.name] for m in items]),
    )


@principal_app.command("create")
@addressed(url=False, token=False)
def create(
    principal_id: str,
    name: Annotated[str, typer.Option(help="display name")],
    role: Annotated[list[str], typer.Option("--role", help="a role; repeat for several")],
    src: Source,
    member: Annotated[str | None, typer.Option(help="member a delegate votes for")] = None,
    token: Annotated[bool, typer.Option("--token", help="also issue an API token")] = False,
    json: JsonOpt = False,
) -> None:
    """Create a principal (optionally with a first API token, shown once)."""
    ctx = src.ctx
    view = svc.create_principal(
        ctx, LOCAL, NewPrincipal(principal_id, name, parse_roles(role), member)
    )
    out: dict[str, Any] = {"principal": view.model_dump()}
    if token:
        out["token"] = svc.issue_token(ctx, LOCAL, principal_id, "cli").model_dump()
    emit(out, json, _print_created)


def _print_created(out: dict[str, Any]) -> None:
    p = out["principal"]
    console.print(f"created principal {p['principal_id']} with roles {', '.join(p['roles'])}")
    if "token" in out:
        console.print(f"API token (shown once): {out['token']['token']}")


@token_app.command("issue")
@addressed(url=False, token=False)
def issue(principal_id: str, src: Source, label: str = "cli", json: JsonOpt = False) -> None:
    """Issue an API token for a principal (shown once)."""
    issued = svc.issue_token(src.ctx, LOCAL, principal_id, label)
    emit(issued, json, lambda t: console.print(f"token {t.token_id} (shown once): {t.token}"))


@token_app.command("revoke")
@addressed(url=False, token=False)
def revoke(token_id: str, src: Source, json: JsonOpt = False) -> None:
    """Revoke an API token."""
    svc.revoke_token(src.ctx, LOCAL, token_id)
    emit({"revoked": token_id}, json, lambda _: console.print(f"revoked token {token_id}"))


@key_app.command("register")
@addressed(url=False, token=False)
def register(
    principal_id: str,
    public_key: Annotated[str, typer.Argument(help="base64 of the 32-byte Ed25519 public key")],
    src: Source,
    purpose: str = "ballot",
    json: JsonOpt = False,
) -> None:
    """Register an Ed25519 public key for a principal."""
    view = svc.register_key(src.ctx, LOCAL, principal_id, public_key, purpose)
    emit(view, json, lambda k: console.print(f"registered key {k.key_id} for {k.principal_id}"))


@key_app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="private key file to write (mode 0600)")],
    json: JsonOpt = False,
) -> None:
    """Write a new Ed25519 private key (PEM) and print the public key to register."""
    if out.exists():
        raise typer.BadParameter(f"{out} exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    public = base64.b64encode(raw).decode()
    emit(
        {"private_key_file": str(out), "public_key": public},
        json,
        lambda o: console.print(f"wrote {o['private_key_file']}; public key: {o['public_key']}"),
    )


@events_app.command("list")
@addressed()
def list_events(
    src: Source,
    limit: int = 20,
    offset: int = 0,
    newest_first: Annotated[bool, typer.Option("--newest-first")] = False,
    json: JsonOpt = False,
) -> None:
    """Public ledger entries."""
    params = {"offset": offset, "limit": limit, "newest_first": newest_first}
    page = src.read(
        "/api/v1/events",
        lambda c, _: events_svc.list_events(c, offset, limit, newest_first).model_dump(),
        params=params,
    )
    items = page["items"]
    emit(
        items,
        json,
        lambda rows: _table(
            ["seq", "at", "actor", "kind"],
            [[str(r["seq"]), r["at"], r["actor"], r["kind"]] for r in rows],
        ),
    )


def _table(headers: list[str], rows: list[list[str]]) -> None:
    table = Table(*headers)
    for row in rows:
        table.add_row(*row)
    console.print(table)
