"""What services return: plain validated models, also used as API response schemas."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    offset: int
    limit: int


class MemberView(BaseModel):
    """A member state or organisation."""

    model_config = ConfigDict(frozen=True)
    member_id: str
    name: str
    admitted_at: str


class PrincipalView(BaseModel):
    """A principal, without secrets."""

    model_config = ConfigDict(frozen=True)
    principal_id: str
    name: str
    roles: list[str]
    member_id: str | None
    created_at: str


class IssuedToken(BaseModel):
    """A new API token: the secret is shown here once and never stored."""

    token_id: str
    principal_id: str
    label: str
    token: str


class KeyView(BaseModel):
    """A registered public key."""

    key_id: str
    principal_id: str
    public_key: str
    purpose: str
    registered_at: str
    revoked_at: str | None


class EventView(BaseModel):
    """A public ledger entry."""

    seq: int
    at: str
    actor: str
    kind: str
    v: int
    visibility: str
    body: dict[str, object]
    commitment: str | None = None
