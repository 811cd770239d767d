"""Use cases for identity: members, principals, API tokens, signing keys, authentication."""

from __future__ import annotations

import secrets
from typing import Any

from pnyx.domain import identity as d
from pnyx.domain.identity import Actor, Role
from pnyx.domain.ids import parse_slug
from pnyx.errors import AuthenticationError, ConflictError, InvalidInputError, NotFoundError
from pnyx.services.context import ServiceContext
from pnyx.services.dto import IssuedToken, KeyView, MemberView, Page, PrincipalView
from pnyx.services.record import record
from pnyx.store import identity_repo as repo
from pnyx.store import tables as t

TOKEN_PREFIX = "pnyx_"  # noqa: S105  (a public prefix, not a secret)
MAX_PAGE = 500


def admit_member(ctx: ServiceContext, actor: Actor, member_id: str, name: str) -> MemberView:
    """Admit a member (operators now; by Council resolution once governance lands)."""
    d.require_role(actor, Role.OPERATOR)
    parse_slug(member_id, "member id")
    if not name.strip() or len(name) > 200:
        raise InvalidInputError("member name must be 1-200 characters")
    with ctx.db.transaction() as conn:
        if repo.member_row(conn, member_id):
            raise ConflictError(f"member {member_id!r} already exists")
        rec = record(conn, ctx, actor, [d.MemberAdmitted(member_id=member_id, name=name)])[0]
    return MemberView(member_id=member_id, name=name, admitted_at=rec.at)


def list_members(ctx: ServiceContext, offset: int = 0, limit: int = 100) -> Page[MemberView]:
    """Every member, public."""
    _check_page(offset, limit)
    with ctx.db.read() as conn:
        rows, total = repo.page_rows(conn, t.members, [t.members.c.member_id], offset, limit)
    items = [
        MemberView(member_id=r["member_id"], name=r["name"], admitted_at=r["admitted_at"])
        for r in rows
    ]
    return Page(items=items, total=total, offset=offset, limit=limit)


def create_principal(ctx: ServiceContext, actor: Actor, new: d.NewPrincipal) -> PrincipalView:
    """Create a principal (operators only)."""
    d.require_role(actor, Role.OPERATOR)
    with ctx.db.transaction() as conn:
        exists = repo.principal_row(conn, new.principal_id) is not None
        member_ok = new.member_id is None or repo.member_row(conn, new.member_id) is not None
        event = d.decide_create_principal(new, exists, member_ok)
        record(conn, ctx, actor, [event])
        row = repo.principal_row(conn, new.principal_id)
    assert row is not None
    return _principal_view(row)


def get_principal(ctx: ServiceContext, principal_id: str) -> PrincipalView:
    """A principal by id (public information)."""
    with ctx.db.read() as conn:
        row = repo.principal_row(conn, principal_id)
    if row is None:
        raise NotFoundError(f"principal {principal_id!r} does not exist")
    return _principal_view(row)


def list_principals(
    ctx: ServiceContext, actor: Actor, offset: int = 0, limit: int = 100
) -> Page[PrincipalView]:
    """Principals, paginated (operators only: the directory is not public)."""
    d.require_role(actor, Role.OPERATOR)
    _check_page(offset, limit)
    with ctx.db.read() as conn:
        rows, total = repo.page_rows(
            conn, t.principals, [t.principals.c.principal_id], offset, limit
        )
    return Page(items=[_principal_view(r) for r in rows], total=total, offset=offset, limit=limit)


def issue_token(
    ctx: ServiceContext, actor: Actor, principal_id: str, label: str = "api"
) -> IssuedToken:
    """Issue an API token for a principal (the principal itself or an operator)."""
    d.require_self_or_role(actor, principal_id, Role.OPERATOR)
    if not label.strip() or len(label) > 200:
        raise InvalidInputError("token label must be 1-200 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = secrets.token_hex(8)
    with ctx.db.transaction() as conn:
        _require_principal(conn, principal_id)
        event = d.TokenIssued(
            token_id=token_id,
            principal_id=principal_id,
            label=label,
            token_hash=d.hash_token(token),
        )
        record(conn, ctx, actor, [event])
    return IssuedToken(token_id=token_id, principal_id=principal_id, label=label, token=token)


def revoke_token(ctx: ServiceContext, actor: Actor, token_id: str) -> None:
    """Revoke a token (its owner or an operator)."""
    with ctx.db.transaction() as conn:
        row = repo.token_row(conn, token_id)
        if row is None:
            raise NotFoundError(f"token {token_id!r} does not exist")
        d.require_self_or_role(actor, row["principal_id"], Role.OPERATOR)
        if row["revoked_at"] is not None:
            raise ConflictError(f"token {token_id!r} is already revoked")
        record(conn, ctx, actor, [d.TokenRevoked(token_id, row["principal_id"])])


def authenticate(ctx: ServiceContext, token: str | None) -> Actor:
    """The actor a bearer token stands for; no token means the anonymous public."""
    if token is None:
        return Actor.public()
    with ctx.db.read() as conn:
        row = repo.token_row_by_hash(conn, d.hash_token(token))
        principal = repo.principal_row(conn, row["principal_id"]) if row else None
    if principal is None:
        raise AuthenticationError("the API token is unknown or revoked")
    roles = frozenset(Role(r) for r in principal["roles"].split(","))
    return Actor(principal["principal_id"], roles, principal["member_id"])


def register_key(
    ctx: ServiceContext, actor: Actor, principal_id: str, public_key_b64: str, purpose: str
) -> KeyView:
    """Register an Ed25519 public key for a principal (itself or an operator)."""
    d.require_self_or_role(actor, principal_id, Role.OPERATOR)
    raw = d.parse_ed25519_public_key(public_key_b64)
    try:
        kind = d.KeyPurpose(purpose)
    except ValueError:
        known = ", ".join(p.value for p in d.KeyPurpose)
        raise InvalidInputError(f"unknown key purpose {purpose!r} (known: {known})") from None
    key_id = d.key_id(raw)
    with ctx.db.transaction() as conn:
        _require_principal(conn, principal_id)
        if repo.key_row(conn, key_id):
            raise ConflictError(f"key {key_id} is already registered")
        event = d.KeyRegistered(principal_id, key_id, public_key_b64, str(kind))
        record(conn, ctx, actor, [event])
        row = repo.key_row(conn, key_id)
    assert row is not None
    return KeyView(**row)


def revoke_key(ctx: ServiceContext, actor: Actor, key_id: str) -> None:
    """Revoke a registered key (its owner or an operator)."""
    with ctx.db.transaction() as conn:
        row = repo.key_row(conn, key_id)
        if row is None:
            raise NotFoundError(f"key {key_id!r} does not exist")
        d.require_self_or_role(actor, row["principal_id"], Role.OPERATOR)
        if row["revoked_at"] is not None:
            raise ConflictError(f"key {key_id!r} is already revoked")
        record(conn, ctx, actor, [d.KeyRevoked(row["principal_id"], key_id)])


def list_keys(ctx: ServiceContext, principal_id: str) -> list[KeyView]:
    """A principal's public keys (public: anyone may check a signature)."""
    with ctx.db.read() as conn:
        _require_principal(conn, principal_id)
        return [KeyView(**r) for r in repo.key_rows(conn, principal_id)]


def _require_principal(conn: Any, principal_id: str) -> None:
    if repo.principal_row(conn, principal_id) is None:
        raise NotFoundError(f"principal {principal_id!r} does not exist")


def _principal_view(row: dict[str, Any]) -> PrincipalView:
    return PrincipalView(
        principal_id=row["principal_id"],
        name=row["name"],
        roles=row["roles"].split(","),
        member_id=row["member_id"],
        created_at=row["created_at"],
    )


def _check_page(offset: int, limit: int) -> None:
    if offset < 0:
        raise InvalidInputError(f"offset must be >= 0, got {offset}")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(f"limit must be 1..{MAX_PAGE}, got {limit}")
