"""Members, principals, tokens and keys."""

from __future__ import annotations

from fastapi import APIRouter, status

from pnyx.api.deps import Caller, Ctx, Limit, Offset
from pnyx.api.schemas import KeyIn, MemberIn, PrincipalIn, TokenIn
from pnyx.domain.identity import NewPrincipal, parse_roles
from pnyx.services import identity as svc
from pnyx.services.dto import IssuedToken, KeyView, MemberView, Page, PrincipalView

router = APIRouter(prefix="/api/v1", tags=["identity"])


@router.get("/members")
def list_members(ctx: Ctx, offset: Offset = 0, limit: Limit = 100) -> Page[MemberView]:
    """Every member of the facility."""
    return svc.list_members(ctx, offset, limit)


@router.post("/members", status_code=status.HTTP_201_CREATED)
def admit_member(body: MemberIn, ctx: Ctx, actor: Caller) -> MemberView:
    """Admit a member (operators)."""
    return svc.admit_member(ctx, actor, body.member_id, body.name)


@router.get("/principals")
def list_principals(
    ctx: Ctx, actor: Caller, offset: Offset = 0, limit: Limit = 100
) -> Page[PrincipalView]:
    """The directory of principals (operators)."""
    return svc.list_principals(ctx, actor, offset, limit)


@router.post("/principals", status_code=status.HTTP_201_CREATED)
def create_principal(body: PrincipalIn, ctx: Ctx, actor: Caller) -> PrincipalView:
    """Create a principal (operators)."""
    new = NewPrincipal(body.principal_id, body.name, parse_roles(body.roles), body.member_id)
    return svc.create_principal(ctx, actor, new)


@router.get("/principals/{principal_id}")
def get_principal(principal_id: str, ctx: Ctx) -> PrincipalView:
    """One principal."""
    return svc.get_principal(ctx, principal_id)


@router.post("/principals/{principal_id}/tokens", status_code=status.HTTP_201_CREATED)
def issue_token(principal_id: str, body: TokenIn, ctx: Ctx, actor: Caller) -> IssuedToken:
    """Issue an API token; the secret is in this response only."""
    return svc.issue_token(ctx, actor, principal_id, body.label)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: str, ctx: Ctx, actor: Caller) -> None:
    """Revoke a token."""
    svc.revoke_token(ctx, actor, token_id)


@router.get("/principals/{principal_id}/keys")
def list_keys(principal_id: str, ctx: Ctx) -> list[KeyView]:
    """A principal's public keys."""
    return svc.list_keys(ctx, principal_id)


@router.post("/principals/{principal_id}/keys", status_code=status.HTTP_201_CREATED)
def register_key(principal_id: str, body: KeyIn, ctx: Ctx, actor: Caller) -> KeyView:
    """Register an Ed25519 public key."""
    return svc.register_key(ctx, actor, principal_id, body.public_key, body.purpose)


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(key_id: str, ctx: Ctx, actor: Caller) -> None:
    """Revoke a key."""
    svc.revoke_key(ctx, actor, key_id)
