"""One mapping from errors to HTTP responses: {"error": kind, "detail": message}."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from pnyx.errors import PnyxError


def error_kind(exc: Exception) -> str:
    """snake_case of the error class name without the Error suffix."""
    name = type(exc).__name__.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(PnyxError)
    async def _pnyx_error(_request: Request, exc: PnyxError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        return JSONResponse(
            status_code=exc.http_status,
            content={"error": error_kind(exc), "detail": str(exc)},
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={"error": "invalid_input", "detail": describe_validation(exc)},
        )


def describe_validation(exc: RequestValidationError) -> str:
    """One line naming each bad field, e.g. 'body.name: Field required'."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid input"
