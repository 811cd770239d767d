"""Signed ballots: the canonical body a delegate signs, and its Ed25519 check (pure).

The body is the RFC 8785 canonical JSON of
``{"resolution": id, "member": id, "choice": "yes"|"no"|"abstain", "cast_at": RFC 3339}``;
the signature is base64 of the 64-byte Ed25519 signature over those bytes.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pnyx.domain.events import canonical_json
from pnyx.domain.governance import Choice
from pnyx.domain.identity import parse_ed25519_public_key
from pnyx.domain.ids import parse_slug
from pnyx.errors import InvalidInputError, VerificationError


@dataclass(frozen=True)
class BallotBody:
    """What a delegate signs."""

    resolution: str
    member: str
    choice: Choice
    cast_at: str

    def __post_init__(self) -> None:
        parse_slug(self.resolution, "resolution id")
        parse_slug(self.member, "member id")
        try:
            object.__setattr__(self, "choice", Choice(self.choice))
        except ValueError:
            raise InvalidInputError(
                f"choice {self.choice!r} is not one of 'yes', 'no', 'abstain'"
            ) from None

    def canonical(self) -> bytes:
        """The exact bytes that are signed."""
        return canonical_json(
            {
                "resolution": self.resolution,
                "member": self.member,
                "choice": str(self.choice),
                "cast_at": self.cast_at,
            }
        )


def sign_ballot(body: BallotBody, private_key: Ed25519PrivateKey) -> str:
    """The base64 signature of ``body`` (done by the delegate, locally)."""
    return base64.b64encode(private_key.sign(body.canonical())).decode()


def verify_ballot_signature(body: BallotBody, signature_b64: str, public_key_b64: str) -> None:
    """Raise VerificationError unless ``signature_b64`` signs ``body`` under the key."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise VerificationError(f"ballot signature is not valid base64: {e}") from e
    if len(signature) != 64:
        raise VerificationError(f"an Ed25519 signature has 64 bytes, got {len(signature)}")
    key = Ed25519PublicKey.from_public_bytes(parse_ed25519_public_key(public_key_b64))
    try:
        key.verify(signature, body.canonical())
    except InvalidSignature:
        raise VerificationError(
            f"bad signature: the ballot of {body.member} on {body.resolution} does not verify"
            " under the registered key"
        ) from None
