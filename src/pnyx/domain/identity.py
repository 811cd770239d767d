"""Principals, roles, tokens and keys: the pure rules of who may act.

Authorisation is decided here as pure functions over an :class:`Actor`; services call them
before anything is written. Security checks raise, they never return False.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

from pnyx.domain.events import Event, Visibility, event_type
from pnyx.domain.ids import parse_slug
from pnyx.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError

SYSTEM_ID = "system"
PUBLIC_ID = "public"


class Role(StrEnum):
    """What a principal may do at the facility (DESIGN.md §1)."""

    DELEGATE = "delegate"
    RESEARCHER = "researcher"
    REVIEWER = "reviewer"
    OPERATOR = "operator"
    SAFETY_OFFICER = "safety-officer"
    TENANT = "tenant"
    PUBLIC = "public"


class KeyPurpose(StrEnum):
    """What a registered Ed25519 key may sign."""

    BALLOT = "ballot"
    APPROVAL = "approval"
    WITNESS = "witness"


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of a service."""

    principal_id: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    member_id: str | None = None

    @staticmethod
    def public() -> Actor:
        """The anonymous public."""
        return Actor(PUBLIC_ID, frozenset({Role.PUBLIC}))

    @staticmethod
    def system() -> Actor:
        """The facility itself: local administration with direct database access."""
        return Actor(SYSTEM_ID, frozenset({Role.OPERATOR}))

    def has(self, role: Role) -> bool:
        """True when the actor holds ``role``."""
        return role in self.roles


def require_role(actor: Actor, *roles: Role) -> None:
    """Raise unless the actor holds at least one of ``roles``."""
    if not any(actor.has(r) for r in roles):
        wanted = " or ".join(str(r) for r in roles)
        held = ", ".join(sorted(str(r) for r in actor.roles)) or "none"
        raise PermissionDeniedError(f"{actor.principal_id} needs role {wanted} (holds {held})")


def require_self_or_role(actor: Actor, principal_id: str, *roles: Role) -> None:
    """Raise unless the actor is ``principal_id`` or holds one of ``roles``."""
    if actor.principal_id != principal_id or actor.has(Role.PUBLIC):
        require_role(actor, *roles)


def parse_roles(values: list[str] | tuple[str, ...]) -> frozenset[Role]:
    """Parse role names, refusing unknown ones and the empty set."""
    roles: set[Role] = set()
    for v in values:
        try:
            roles.add(Role(v))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise InvalidInputError(f"unknown role {v!r} (known: {known})") from None
    if not roles:
        raise InvalidInputError("a principal needs at least one role")
    if Role.PUBLIC in roles:
        raise InvalidInputError("role 'public' is reserved for anonymous access")
    return frozenset(roles)


def hash_token(token: str) -> str:
    """Tokens are stored only as this SHA-256 hex digest."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_ed25519_public_key(b64: str) -> bytes:
    """Decode a base64 Ed25519 public key (32 bytes)."""
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError as e:
        raise InvalidInputError(f"public key is not valid base64: {e}") from e
    if len(raw) != 32:
        raise InvalidInputError(f"Ed25519 public key must be 32 bytes, got {len(raw)}")
    return raw


def key_id(public_key: bytes) -> str:
    """A short stable id of a public key: first 8 bytes of its SHA-256, hex."""
    return hashlib.sha256(public_key).hexdigest()[:16]


@event_type
@dataclass(frozen=True)
class PrincipalCreated(Event):
    """A person or organisation gets an identity at the facility."""

    KIND = "principal.created"
    principal_id: str
    name: str
    roles: list[str]
    member_id: str | None


@event_type
@dataclass(frozen=True)
class PrincipalRolesChanged(Event):
    """An operator changes what a principal may do."""

    KIND = "principal.roles_changed"
    principal_id: str
    roles: list[str]


@event_type
@dataclass(frozen=True)
class TokenIssued(Event):
    """An API token was issued; only its hash is kept, and only in restricted storage."""

    KIND = "token.issued"
    VISIBILITY = Visibility.RESTRICTED
    PRIVATE_FIELDS = frozenset({"token_hash"})
    token_id: str
    principal_id: str
    label: str
    token_hash: str


@event_type
@dataclass(frozen=True)
class TokenRevoked(Event):
    """An API token stops working."""

    KIND = "token.revoked"
    token_id: str
    principal_id: str


@event_type
@dataclass(frozen=True)
class KeyRegistered(Event):
    """A principal registers an Ed25519 public key for signing ballots or approvals."""

    KIND = "key.registered"
    principal_id: str
    key_id: str
    public_key: str
    purpose: str


@event_type
@dataclass(frozen=True)
class KeyRevoked(Event):
    """A registered key may no longer sign."""

    KIND = "key.revoked"
    principal_id: str
    key_id: str


@event_type
@dataclass(frozen=True)
class MemberAdmitted(Event):
    """A state or organisation joins the facility."""

    KIND = "member.admitted"
    member_id: str
    name: str


@dataclass(frozen=True)
class NewPrincipal:
    """A validated request to create a principal."""

    principal_id: str
    name: str
    roles: frozenset[Role]
    member_id: str | None = None

    def __post_init__(self) -> None:
        parse_slug(self.principal_id, "principal id")
        if self.principal_id in (SYSTEM_ID, PUBLIC_ID):
            raise InvalidInputError(f"principal id {self.principal_id!r} is reserved")
        if not self.name.strip() or len(self.name) > 200:
            raise InvalidInputError("principal name must be 1-200 characters")
        if Role.DELEGATE in self.roles and self.member_id is None:
            raise InvalidInputError("a delegate must name the member it votes for (member_id)")
        if self.member_id is not None:
            parse_slug(self.member_id, "member id")


def decide_create_principal(new: NewPrincipal, exists: bool, member_exists: bool) -> Event:
    """The event that creates ``new``, or raise why it cannot be created."""
    if exists:
        raise ConflictError(f"principal {new.principal_id!r} already exists")
    if new.member_id is not None and not member_exists:
        raise NotFoundError(f"member {new.member_id!r} does not exist")
    return PrincipalCreated(
        principal_id=new.principal_id,
        name=new.name,
        roles=sorted(str(r) for r in new.roles),
        member_id=new.member_id,
    )
