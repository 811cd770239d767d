"""A small HTTP client for commands run with --url against a live server."""

from __future__ import annotations

from typing import Any

import httpx

from pnyx.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PnyxError,
)

_BY_STATUS: dict[int, type[PnyxError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidInputError,
}


class Remote:
    """Calls a pnyx server; server errors come back as the same PnyxError subclasses."""

    def __init__(self, base_url: str, token: str | None = None, timeout_s: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s
        )

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` and return its JSON."""
        return self._check(self._send("GET", path, params=params))

    def post(self, path: str, body: Any) -> Any:
        """POST JSON ``body`` to ``path`` and return the JSON answer."""
        return self._check(self._send("POST", path, json=body))

    def get_text(self, path: str) -> str:
        """GET ``path`` as text."""
        resp = self._send("GET", path)
        self._check(resp, parse=False)
        return resp.text

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.request(method, path, **kwargs)
        except httpx.HTTPError as e:
            raise PnyxError(f"cannot reach {self.client.base_url}: {e}") from e

    @staticmethod
    def _check(resp: httpx.Response, parse: bool = True) -> Any:
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail", resp.text)
            except ValueError:
                detail = resp.text
            raise _BY_STATUS.get(resp.status_code, PnyxError)(f"server: {detail}")
        if not parse or resp.status_code == 204:
            return None
        return resp.json()
