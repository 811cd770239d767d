"""Hypothesis: any sequence of commands, valid or refused, leaves replay == projections."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.errors import PnyxError
from pnyx.services import identity
from pnyx.services.context import ServiceContext
from pnyx.store.replay import check_replay

SYSTEM = Actor.system()
IDS = st.sampled_from(["a", "b", "c", "d"])
ROLES = st.sets(st.sampled_from([r for r in Role if r is not Role.PUBLIC]), min_size=1)


class World:
    """Remembers tokens and keys so later commands can refer to them."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.keys: list[str] = []


Command = Callable[[ServiceContext, World], Any]


def admit(member: str) -> Command:
    return lambda ctx, w: identity.admit_member(ctx, SYSTEM, member, member.upper())


def create(pid: str, roles: set[Role], member: str | None) -> Command:
    def run(ctx: ServiceContext, w: World) -> None:
        identity.create_principal(ctx, SYSTEM, NewPrincipal(pid, pid, frozenset(roles), member))

    return run


def issue(pid: str) -> Command:
    def run(ctx: ServiceContext, w: World) -> None:
        w.tokens.append(identity.issue_token(ctx, SYSTEM, pid).token_id)

    return run


def revoke(i: int) -> Command:
    def run(ctx: ServiceContext, w: World) -> None:
        if w.tokens:
            identity.revoke_token(ctx, SYSTEM, w.tokens[i % len(w.tokens)])

    return run


def register(pid: str, seed: int) -> Command:
    def run(ctx: ServiceContext, w: World) -> None:
        key = base64.b64encode(seed.to_bytes(32, "big")).decode()
        w.keys.append(identity.register_key(ctx, SYSTEM, pid, key, "ballot").key_id)

    return run


def revoke_key(i: int) -> Command:
    def run(ctx: ServiceContext, w: World) -> None:
        if w.keys:
            identity.revoke_key(ctx, SYSTEM, w.keys[i % len(w.keys)])

    return run


COMMANDS = st.one_of(
    st.builds(admit, IDS),
    st.builds(create, IDS, ROLES, st.one_of(st.none(), IDS)),
    st.builds(issue, IDS),
    st.builds(revoke, st.integers(0, 10)),
    st.builds(register, IDS, st.integers(0, 5)),
    st.builds(revoke_key, st.integers(0, 10)),
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(commands=st.lists(COMMANDS, max_size=25))
def test_replay_equals_projections_after_any_commands(
    ctx: ServiceContext, commands: list[Command]
) -> None:
    world = World()
    for command in commands:
        # refused commands must leave no trace; the replay below checks that
        with contextlib.suppress(PnyxError):
            command(ctx, world)
    report = check_replay(ctx.db)
    assert report.ok, report.as_dict()
