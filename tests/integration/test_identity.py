"""Identity services against SQLite and PostgreSQL: allowed and denied, and replay."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select

from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from pnyx.services import identity as svc
from pnyx.services.context import ServiceContext
from pnyx.store import tables as t
from pnyx.store.replay import check_replay

OPERATOR = Actor.system()


def event_count(ctx: ServiceContext) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)


def new_key_b64() -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def make_researcher(ctx: ServiceContext, pid: str = "ada") -> Actor:
    svc.create_principal(ctx, OPERATOR, NewPrincipal(pid, "Ada", frozenset({Role.RESEARCHER})))
    token = svc.issue_token(ctx, OPERATOR, pid).token
    return svc.authenticate(ctx, token)


def test_operator_creates_principal_and_token_authenticates(ctx: ServiceContext) -> None:
    actor = make_researcher(ctx)
    assert actor.principal_id == "ada"
    assert actor.roles == frozenset({Role.RESEARCHER})
    assert svc.get_principal(ctx, "ada").roles == ["researcher"]


def test_researcher_may_not_create_principals(ctx: ServiceContext) -> None:
    ada = make_researcher(ctx)
    before = event_count(ctx)
    with pytest.raises(PermissionDeniedError, match="needs role operator"):
        svc.create_principal(ctx, ada, NewPrincipal("bob", "Bob", frozenset({Role.OPERATOR})))
    assert event_count(ctx) == before


def test_public_may_not_issue_tokens(ctx: ServiceContext) -> None:
    make_researcher(ctx)
    with pytest.raises(PermissionDeniedError):
        svc.issue_token(ctx, Actor.public(), "ada")


def test_principal_issues_own_token_but_not_others(ctx: ServiceContext) -> None:
    ada = make_researcher(ctx)
    make_researcher(ctx, "bob")
    assert svc.issue_token(ctx, ada, "ada", "laptop").principal_id == "ada"
    with pytest.raises(PermissionDeniedError):
        svc.issue_token(ctx, ada, "bob")


def test_duplicate_principal_conflicts(ctx: ServiceContext) -> None:
    make_researcher(ctx)
    before = event_count(ctx)
    with pytest.raises(ConflictError, match="already exists"):
        svc.create_principal(ctx, OPERATOR, NewPrincipal("ada", "A", frozenset({Role.REVIEWER})))
    assert event_count(ctx) == before


def test_delegate_needs_existing_member(ctx: ServiceContext) -> None:
    with pytest.raises(InvalidInputError, match="member_id"):
        NewPrincipal("d1", "Delegate", frozenset({Role.DELEGATE}))
    with pytest.raises(NotFoundError, match="member 'de'"):
        svc.create_principal(
            ctx, OPERATOR, NewPrincipal("d1", "D", frozenset({Role.DELEGATE}), "de")
        )
    svc.admit_member(ctx, OPERATOR, "de", "Germany")
    view = svc.create_principal(
        ctx, OPERATOR, NewPrincipal("d1", "D", frozenset({Role.DELEGATE}), "de")
    )
    assert view.member_id == "de"


def test_revoked_token_no_longer_authenticates(ctx: ServiceContext) -> None:
    make_researcher(ctx)
    issued = svc.issue_token(ctx, OPERATOR, "ada")
    svc.revoke_token(ctx, OPERATOR, issued.token_id)
    with pytest.raises(AuthenticationError):
        svc.authenticate(ctx, issued.token)
    with pytest.raises(ConflictError):
        svc.revoke_token(ctx, OPERATOR, issued.token_id)


def test_unknown_token_rejected_and_none_is_public(ctx: ServiceContext) -> None:
    with pytest.raises(AuthenticationError):
        svc.authenticate(ctx, "pnyx_nope")
    assert svc.authenticate(ctx, None) == Actor.public()


def test_register_key_allowed_for_self_denied_for_other(ctx: ServiceContext) -> None:
    ada = make_researcher(ctx)
    make_researcher(ctx, "bob")
    key = svc.register_key(ctx, ada, "ada", new_key_b64(), "ballot")
    assert [k.key_id for k in svc.list_keys(ctx, "ada")] == [key.key_id]
    with pytest.raises(PermissionDeniedError):
        svc.register_key(ctx, ada, "bob", new_key_b64(), "ballot")
    with pytest.raises(ConflictError):
        svc.register_key(ctx, ada, "ada", key.public_key, "ballot")
    with pytest.raises(InvalidInputError, match="32 bytes"):
        svc.register_key(ctx, ada, "ada", base64.b64encode(b"short").decode(), "ballot")
    svc.revoke_key(ctx, ada, key.key_id)
    assert svc.list_keys(ctx, "ada")[0].revoked_at is not None


def test_token_hash_stays_out_of_public_entry(ctx: ServiceContext) -> None:
    make_researcher(ctx)
    with ctx.db.read() as conn:
        entries = [r[0] for r in conn.execute(select(t.events.c.entry))]
        hashes = [r[0] for r in conn.execute(select(t.api_tokens.c.token_hash))]
    assert hashes and all(h not in e for h in hashes for e in entries)
    assert any('"commitment"' in e for e in entries)


def test_replay_reproduces_projections_and_detects_drift(ctx: ServiceContext) -> None:
    make_researcher(ctx)
    svc.admit_member(ctx, OPERATOR, "fr", "France")
    report = check_replay(ctx.db)
    assert report.ok, report.as_dict()
    assert report.events == event_count(ctx)
    with ctx.db.transaction() as conn:
        conn.execute(t.members.update().values(name="Tampered"))
    report = check_replay(ctx.db)
    assert not report.ok
    assert report.diffs[0].table == "members"
    assert report.diffs[0].only_live[0]["name"] == "Tampered"
