"""FastAPI dependencies: the service context and the authenticated actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from pnyx.domain.identity import Actor
from pnyx.errors import AuthenticationError
from pnyx.services import identity
from pnyx.services.context import ServiceContext


def get_ctx(request: Request) -> ServiceContext:
    """The app's service context."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def get_actor(request: Request, ctx: Annotated[ServiceContext, Depends(get_ctx)]) -> Actor:
    """The caller: 'Authorization: Bearer TOKEN', or the anonymous public."""
    header = request.headers.get("authorization")
    if header is None:
        return Actor.public()
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationError("Authorization header must be 'Bearer <token>'")
    return identity.authenticate(ctx, token.strip())


Ctx = Annotated[ServiceContext, Depends(get_ctx)]
Caller = Annotated[Actor, Depends(get_actor)]
Offset = Annotated[int, Query(ge=0, description="items to skip")]
Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
