"""Witnesses: parties (usually member states) that check the log's consistency and cosign it."""

from __future__ import annotations

from dataclasses import dataclass

from pnyx.domain.events import Event, event_type
from pnyx.domain.ids import parse_slug
from pnyx.errors import ConflictError, InvalidInputError, NotFoundError


@event_type
@dataclass(frozen=True)
class WitnessRegistered(Event):
    """A witness key may cosign the log's checkpoints (C2SP tlog-cosignature/v1)."""

    KIND = "witness.registered"
    witness_id: str
    name: str
    verifier_key: str  # note verifier key ``name+keyid+base64(0x04||public key)``
    member_id: str | None


def check_witness_name(name: str) -> str:
    """Return ``name`` if it is a valid display name (1-200 characters, not blank)."""
    if not name.strip() or len(name) > 200:
        raise InvalidInputError("witness name must be 1-200 characters")
    return name


def decide_register_witness(
    witness_id: str,
    name: str,
    verifier_key: str,
    member_id: str | None,
    *,
    key_taken: bool,
    member_exists: bool,
) -> WitnessRegistered:
    """The event that registers a witness, or raise why it cannot be registered."""
    parse_slug(witness_id, "witness id")
    check_witness_name(name)
    if key_taken:
        raise ConflictError(f"witness key {verifier_key} is already registered")
    if member_id is not None:
        parse_slug(member_id, "member id")
        if not member_exists:
            raise NotFoundError(f"member {member_id!r} does not exist")
    return WitnessRegistered(witness_id, name, verifier_key, member_id)
