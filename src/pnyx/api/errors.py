"""One mapping from errors to HTTP responses: {"error": kind, "detail": message}."""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from pnyx.errors import PnyxError

# (status, kind, detail) -> an HTML page; the portal supplies it (see create_app).
HtmlErrorPage = Callable[[int, str, str], Response]


def error_kind(exc: Exception) -> str:
    """snake_case of the error class name without the Error suffix."""
    name = type(exc).__name__.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def wants_html(request: Request) -> bool:
    """Portal pages (outside /api/) asked for by a browser get HTML errors; the API keeps JSON."""
    accept = request.headers.get("accept", "")
    return not request.url.path.startswith("/api/") and "text/html" in accept


def install_error_handlers(app: FastAPI, html_page: HtmlErrorPage | None = None) -> None:
    """Register the handlers on ``app`` (with ``html_page``, portal errors render as HTML)."""

    def respond(request: Request, status: int, kind: str, detail: str) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if html_page is not None and wants_html(request):
            page = html_page(status, kind, detail)
            page.headers.update(headers or {})
            return page
        content = {"error": kind, "detail": detail}
        return JSONResponse(status_code=status, content=content, headers=headers)

    @app.exception_handler(PnyxError)
    async def _pnyx_error(request: Request, exc: PnyxError) -> Response:
        return respond(request, exc.http_status, error_kind(exc), str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return respond(request, 422, "invalid_input", describe_validation(exc))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if html_page is not None and wants_html(request):
            return html_page(exc.status_code, status_kind(exc.status_code), str(exc.detail))
        return await http_exception_handler(request, exc)


def status_kind(status: int) -> str:
    """'not_found' for 404: the snake_case reason phrase of an HTTP status."""
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def describe_validation(exc: RequestValidationError) -> str:
    """One line naming each bad field, e.g. 'body.name: Field required'."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid input"
