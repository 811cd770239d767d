"""The one error hierarchy. The API maps these to HTTP codes; the CLI prints one line."""

from __future__ import annotations


class PnyxError(Exception):
    """Base of every error pnyx raises on purpose."""

    http_status = 500


class InvalidInputError(PnyxError):
    """The caller's input is malformed or violates a rule; nothing was written."""

    http_status = 422


class NotFoundError(PnyxError):
    """A referenced object does not exist."""

    http_status = 404


class ConflictError(PnyxError):
    """The request conflicts with current state (duplicate id, wrong state)."""

    http_status = 409


class PermissionDeniedError(PnyxError):
    """The actor may not do this."""

    http_status = 403


class AuthenticationError(PnyxError):
    """No valid credentials were presented."""

    http_status = 401


class VerificationError(PnyxError):
    """A proof, signature or recomputation did not match."""

    http_status = 422
