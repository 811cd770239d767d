"""Request bodies. Unknown fields are refused (extra='forbid') so typos never pass silently."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    """Base of every request body."""

    model_config = ConfigDict(extra="forbid")


class MemberIn(Body):
    """Admit a member."""

    member_id: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=200)


class PrincipalIn(Body):
    """Create a principal."""

    principal_id: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(min_length=1)
    member_id: str | None = None


class TokenIn(Body):
    """Issue a token."""

    label: str = Field(default="api", min_length=1, max_length=200)


class KeyIn(Body):
    """Register an Ed25519 public key (base64 of the 32 raw bytes)."""

    public_key: str = Field(min_length=1, max_length=100)
    purpose: str = "ballot"
