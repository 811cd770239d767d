"""A small HTTP client for commands run with --url against a live server.

The one place where a server's error answer ({"error": kind, "detail": message}, see
pnyx.api.errors) becomes the PnyxError subclass the server raised, so a command prints the
same one line (``error: server: ...``, exit 1) as it would locally.
"""

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
    VerificationError,
)

_BY_KIND: dict[str, type[PnyxError]] = {
    "invalid_input": InvalidInputError,
    "not_found": NotFoundError,
    "conflict": ConflictError,
    "permission_denied": PermissionDeniedError,
    "authentication": AuthenticationError,
    "verification": VerificationError,
}
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
        return self.send("POST", path, body)

    def send(self, method: str, path: str, body: Any) -> Any:
        """Send JSON ``body`` with ``method`` (POST, PUT...) and return the JSON answer (or
        None when the server answers 204)."""
        return self._check(self._send(method, path, json=body))

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
            raise error_of(resp)
        if not parse or resp.status_code == 204:
            return None
        return resp.json()


def error_of(resp: httpx.Response) -> PnyxError:
    """The PnyxError for a server's error answer: by its "error" kind, else by HTTP status."""
    try:
        answer = resp.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    detail = answer.get("detail", resp.text)
    kind = answer.get("error")
    cls = _BY_KIND.get(kind) if isinstance(kind, str) else None
    return (cls or _BY_STATUS.get(resp.status_code, PnyxError))(f"server: {detail}")
