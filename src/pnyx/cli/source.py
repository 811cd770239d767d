"""Where a command reads and writes: the local store (--data/--db) or a server (--url).

A command declares its addressing options with :func:`addressed` and is handed the
:class:`Source` they name; per request it gives the API path and the local function that does
the same through the services::

    @app.command("show")
    @addressed(principal=True)
    def show(job_id: str, src: Source, json: JsonOpt = False) -> None:
        view = src.read(f"/api/v1/jobs/{job_id}", lambda ctx, actor: svc.get_job(ctx, job_id),
                        model=JobView)
        emit(view, json, render)

Locally the function runs on the store, as the administrator or as ``--as PRINCIPAL``; over
``--url`` the server answers as the principal of ``--token``, and its errors come back as the
same :class:`~pnyx.errors.PnyxError` subclasses (see :mod:`pnyx.cli.remote`), which the
command line prints as one line with exit status 1.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, get_type_hints, overload

from pydantic import TypeAdapter

from pnyx.cli.common import AsOpt, DataOpt, DbOpt, TokenOpt, UrlOpt, actor_for, open_context
from pnyx.cli.remote import Remote
from pnyx.domain.identity import Actor
from pnyx.errors import InvalidInputError
from pnyx.services.context import ServiceContext

T = TypeVar("T")
Local = Callable[[ServiceContext, Actor], T]


class Source:
    """A local store or a remote server, opened lazily from a command's addressing options."""

    OPTIONS = ("data", "db", "url", "token", "as_")  # the parameters, in order, as options

    def __init__(
        self,
        data: Path | None = None,
        db: str | None = None,
        url: str | None = None,
        token: str | None = None,
        principal: str | None = None,
        *,
        remote: Remote | None = None,
    ) -> None:
        if url and principal is not None:
            raise InvalidInputError(
                "--as acts on a local store (--data/--db); with --url the principal of --token acts"
            )
        self.data, self.db, self.url = data, db, url
        self.token, self.principal = token, principal
        self._remote = remote
        self._ctx: ServiceContext | None = None
        self._actor: Actor | None = None

    @property
    def is_remote(self) -> bool:
        """True with --url (or an injected client): requests go to the server."""
        return bool(self.url) or self._remote is not None

    @property
    def ctx(self) -> ServiceContext:
        """The local store's service context (opened and migrated on first use)."""
        if self._ctx is None:
            self._ctx = open_context(self.data, self.db)
        return self._ctx

    @property
    def actor(self) -> Actor:
        """Who acts locally: the administrator, or the --as principal."""
        if self._actor is None:
            self._actor = actor_for(self.ctx, self.principal)
        return self._actor

    @property
    def remote(self) -> Remote:
        """The HTTP client of the server at --url, with --token."""
        if self._remote is None:
            self._remote = Remote(self.url or "", self.token)
        return self._remote

    @overload
    def read(
        self, path: str, local: Local[Any], *, model: type[T], params: dict[str, Any] | None = None
    ) -> T: ...

    @overload
    def read(
        self, path: str, local: Local[Any], *, params: dict[str, Any] | None = None
    ) -> Any: ...

    def read(
        self,
        path: str,
        local: Local[Any],
        *,
        model: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """GET ``path`` (with query ``params``) from the server, or run ``local`` on the store.

        With ``model`` the server's JSON is validated into it (a view, ``list[View]``...), so
        both ways give the same value; without, the server's JSON comes back as it is.
        """
        if not self.is_remote:
            return local(self.ctx, self.actor)
        return _as(model, self.remote.get(path, **(params or {})))

    @overload
    def write(
        self, path: str, body: Any, local: Local[Any], *, model: type[T], method: str = "POST"
    ) -> T: ...

    @overload
    def write(self, path: str, body: Any, local: Local[Any], *, method: str = "POST") -> Any: ...

    def write(
        self, path: str, body: Any, local: Local[Any], *, model: Any = None, method: str = "POST"
    ) -> Any:
        """Send ``body`` as JSON to ``path`` (POST, or ``method``), or run ``local`` on the store.

        ``model`` as for :meth:`read`; an empty answer (204) comes back as None.
        """
        if not self.is_remote:
            return local(self.ctx, self.actor)
        return _as(model, self.remote.send(method, path, body))


def addressed(
    *, url: bool = True, token: bool = True, principal: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the addressing options in place of its ``src: Source`` parameter:
    --data and --db; --url (``url``) and --token (``token``); --as (``principal``). The command
    is called with the Source they address (nothing is opened until it is used)::

        @app.command("show")
        @addressed(principal=True)
        def show(job_id: str, src: Source, json: JsonOpt = False) -> None: ...
    """
    options: list[tuple[str, Any]] = [("as_", AsOpt)] if principal else []
    options += [("data", DataOpt), ("db", DbOpt)]
    options += [("url", UrlOpt)] if url else []
    options += [("token", TokenOpt)] if token else []
    keyword = inspect.Parameter.KEYWORD_ONLY

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        hints = get_type_hints(command, include_extras=True)
        params: list[inspect.Parameter] = []
        for p in inspect.signature(command).parameters.values():
            if p.name == "src":
                params += [
                    inspect.Parameter(n, keyword, default=None, annotation=a) for n, a in options
                ]
            else:
                params.append(p.replace(kind=keyword, annotation=hints[p.name]))

        @functools.wraps(command)
        def run(**kwargs: Any) -> None:
            where = {n: kwargs.pop(n) for n, _ in options}  # only the options added here
            command(src=Source(*(where.get(n) for n in Source.OPTIONS)), **kwargs)

        run.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
        return run

    return decorate


def _as(model: Any, raw: Any) -> Any:
    if model is None or raw is None:
        return raw
    return TypeAdapter(model).validate_python(raw)
