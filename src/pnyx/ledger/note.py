"""C2SP signed notes, tlog checkpoints and tlog cosignatures (Ed25519).

- signed-note (c2sp.org/signed-note): text, a blank line, then signature lines
  ``— <key name> base64(key id || signature)``; key id = SHA-256(name || "\\n" || type || key)[:4].
- tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text ``origin\\nsize\\nbase64(root)\\n``
  followed by optional non-empty extension lines.
- tlog-cosignature v1 (c2sp.org/tlog-cosignature): signature type 0x04; the signature is
  ``timestamp (u64, big-endian) || Ed25519 signature`` over
  ``"cosignature/v1\\ntime <timestamp>\\n" || checkpoint body``.

Key strings follow the Go ``sumdb/note`` encoding: verifier ``name+hexid+base64(type||public)``
and signer ``PRIVATE+KEY+name+hexid+base64(type||seed)``. Everything here is pure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pnyx.errors import InvalidInputError, VerificationError

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 100
_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_MAX_TIMESTAMP = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")


def _b64decode(text: str, what: str) -> bytes:
    """Decode strict standard base64, raising VerificationError on anything else."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise VerificationError(f"{what} is not valid base64: {text!r}") from e


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_key_name(name: str) -> None:
    """Raise InvalidInputError unless `name` is a valid key name (non-empty, no space, no '+')."""
    if not name or "+" in name or any(c.isspace() for c in name) or _CONTROL.search(name):
        raise InvalidInputError(
            f"key name {name!r} must be non-empty, without spaces, '+' or control characters"
        )


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """Return the 4-byte key id SHA-256(name || "\\n" || alg || public_key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def _check_alg(alg: int) -> None:
    if alg not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise InvalidInputError(
            f"unsupported signature type 0x{alg:02x}: expected 0x01 (Ed25519) "
            "or 0x04 (cosignature/v1)"
        )


# --- keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verifier:
    """A public key that checks note signatures (alg 0x01) or cosignatures (alg 0x04)."""

    name: str
    alg: int
    public_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _check_alg(self.alg)
        if len(self.public_key) != _KEY_SIZE:
            raise InvalidInputError(f"Ed25519 public key has {len(self.public_key)} bytes")

    @property
    def key_id(self) -> bytes:
        """The 4-byte key id that prefixes this key's signatures."""
        return key_id(self.name, self.alg, self.public_key)

    @property
    def key_string(self) -> str:
        """The verifier key string ``name+hexid+base64(alg||public key)``."""
        encoded = _b64encode(bytes([self.alg]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> None:
        """Check a raw Ed25519 signature over `message`; raise VerificationError naming the key."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature as e:
            raise VerificationError(f"invalid signature from key {self.key_string}") from e


@dataclass(frozen=True)
class Signer:
    """A private Ed25519 key with its name and signature type."""

    name: str
    alg: int
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _check_alg(self.alg)

    @property
    def verifier(self) -> Verifier:
        """The matching verifier."""
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return Verifier(self.name, self.alg, public)

    @property
    def verifier_key(self) -> str:
        """The verifier key string to publish."""
        return self.verifier.key_string

    @property
    def key_id(self) -> bytes:
        """The 4-byte key id that prefixes this key's signatures."""
        return self.verifier.key_id

    @property
    def key_string(self) -> str:
        """The secret key string ``PRIVATE+KEY+name+hexid+base64(alg||seed)``; keep it secret."""
        seed = self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        encoded = _b64encode(bytes([self.alg]) + seed)
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{encoded}"

    def sign(self, message: bytes) -> bytes:
        """Return the raw 64-byte Ed25519 signature over `message`."""
        return self.private_key.sign(message)


def generate_signer(name: str, alg: int = ALG_ED25519) -> Signer:
    """Create a new random signer; alg 0x01 signs notes, 0x04 signs cosignatures."""
    return Signer(name, alg, Ed25519PrivateKey.generate())


def _split_key(text: str, parts: int, what: str) -> list[str]:
    fields = text.split("+", parts - 1)  # base64 key material may itself contain '+'
    if len(fields) != parts:
        raise InvalidInputError(f"{what} must have {parts} '+'-separated fields, got {len(fields)}")
    return fields


def _decode_key_material(encoded: str, what: str) -> tuple[int, bytes]:
    try:
        raw = _b64decode(encoded, what)
    except VerificationError as e:
        raise InvalidInputError(str(e)) from e
    if len(raw) != 1 + _KEY_SIZE:
        raise InvalidInputError(f"{what} holds {len(raw)} bytes, expected {1 + _KEY_SIZE}")
    _check_alg(raw[0])
    return raw[0], raw[1:]


def _check_key_id(hex_id: str, expected: bytes, what: str) -> None:
    if hex_id != expected.hex():
        raise InvalidInputError(f"{what} has key id {hex_id!r}, but its key gives {expected.hex()}")


def parse_verifier_key(text: str) -> Verifier:
    """Parse ``name+hexid+base64(alg||public key)``; raise InvalidInputError if malformed."""
    name, hex_id, encoded = _split_key(text, 3, "verifier key")
    alg, public = _decode_key_material(encoded, "verifier key")
    verifier = Verifier(name, alg, public)
    _check_key_id(hex_id, verifier.key_id, "verifier key")
    return verifier


def parse_signer_key(text: str) -> Signer:
    """Parse ``PRIVATE+KEY+name+hexid+base64(alg||seed)``; raise InvalidInputError if malformed."""
    private, key, name, hex_id, encoded = _split_key(text, 5, "signer key")
    if (private, key) != ("PRIVATE", "KEY"):
        raise InvalidInputError("signer key must start with 'PRIVATE+KEY+'")
    alg, seed = _decode_key_material(encoded, "signer key")
    signer = Signer(name, alg, Ed25519PrivateKey.from_private_bytes(seed))
    _check_key_id(hex_id, signer.key_id, "signer key")
    return signer


# --- notes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key id and the bytes after the key id."""

    name: str
    key_id: bytes
    signature: bytes
    timestamp: int | None = None  # set for verified cosignatures (alg 0x04)

    def render(self) -> str:
        """Return the signature line, newline included."""
        return f"{SIGNATURE_PREFIX}{self.name} {_b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class VerifiedNote:
    """A note whose text was signed by at least one known key."""

    text: str
    signatures: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]


def check_note_text(text: str) -> None:
    """Raise InvalidInputError unless `text` is valid note text (ends in newline, no controls)."""
    if not text.endswith("\n"):
        raise InvalidInputError("note text must end with a newline")
    if _CONTROL.search(text):
        raise InvalidInputError("note text must not contain control characters except newline")


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """Return `text` signed by each Ed25519 (alg 0x01) signer, in order."""
    check_note_text(text)
    if not signers:
        raise InvalidInputError("sign_note needs at least one signer")
    lines = []
    for signer in signers:
        if signer.alg != ALG_ED25519:
            raise InvalidInputError(
                f"signer {signer.name} has type 0x{signer.alg:02x}; notes are signed with 0x01 "
                "keys (use cosign_checkpoint for cosignatures)"
            )
        signature = NoteSignature(signer.name, signer.key_id, signer.sign(text.encode()))
        lines.append(signature.render())
    return text + "\n" + "".join(lines)


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise VerificationError(f"malformed note: signature line {line!r} lacks '— '")
    name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not space:
        raise VerificationError(f"malformed note: signature line {line!r} lacks a signature")
    try:
        check_key_name(name)
    except InvalidInputError as e:
        raise VerificationError(f"malformed note: {e}") from e
    raw = _b64decode(encoded, f"signature of {name}")
    if len(raw) < 5:
        raise VerificationError(f"malformed note: signature of {name} is only {len(raw)} bytes")
    return NoteSignature(name, raw[:4], raw[4:])


def parse_signature_line(line: str) -> NoteSignature:
    """Parse one signature line (a final newline is allowed); its signature is NOT checked.

    Raises VerificationError if the line is malformed.
    """
    return _parse_signature_line(line.removesuffix("\n"))


def split_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and its (unchecked) signatures."""
    if _CONTROL.search(note) or not note.endswith("\n"):
        raise VerificationError("malformed note: control characters or no final newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise VerificationError("malformed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    lines = block[:-1].split("\n") if block else []
    if not lines:
        raise VerificationError("malformed note: no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise VerificationError(f"note has {len(lines)} signatures, at most {MAX_SIGNATURES}")
    return text, [_parse_signature_line(line) for line in lines]


def _verifier_index(verifiers: Iterable[Verifier]) -> dict[tuple[str, bytes], Verifier]:
    index: dict[tuple[str, bytes], Verifier] = {}
    for verifier in verifiers:
        ref = (verifier.name, verifier.key_id)
        if ref in index and index[ref] != verifier:
            raise InvalidInputError(f"two verifiers share name and key id {verifier.key_string}")
        index[ref] = verifier
    return index


def _verify_signature(text: str, signature: NoteSignature, verifier: Verifier) -> NoteSignature:
    if verifier.alg == ALG_COSIGNATURE_V1:
        timestamp = _verify_timestamped(text, signature.signature, verifier)
        return NoteSignature(signature.name, signature.key_id, signature.signature, timestamp)
    verifier.verify(text.encode(), signature.signature)
    return signature


def open_note(note: str, verifiers: Iterable[Verifier]) -> VerifiedNote:
    """Verify a signed note against known keys and return its text and signatures.

    Signatures from unknown keys (name and key id not both known) are returned as unverified.
    Raises VerificationError if the note is malformed, if a signature from a known key is
    invalid (naming the key), or if no known key signed it.
    """
    known = _verifier_index(verifiers)
    text, signatures = split_note(note)
    verified: dict[tuple[str, bytes], NoteSignature] = {}
    unverified: list[NoteSignature] = []
    for signature in signatures:
        ref = (signature.name, signature.key_id)
        if ref not in known:
            unverified.append(signature)
            continue
        checked = _verify_signature(text, signature, known[ref])  # every known one is checked
        verified.setdefault(ref, checked)
    if not verified:
        names = ", ".join(sorted(f"{v.name}+{v.key_id.hex()}" for v in known.values()))
        raise VerificationError(f"note is not signed by any known key ({names or 'none given'})")
    return VerifiedNote(text, tuple(verified.values()), tuple(unverified))


# --- checkpoints --------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A tlog-checkpoint body: the log's origin, tree size and root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise InvalidInputError(f"checkpoint origin {self.origin!r} must be one non-empty line")
        if self.size < 0:
            raise InvalidInputError(f"checkpoint size must be >= 0, got {self.size}")
        if len(self.root_hash) != 32:
            raise InvalidInputError(f"checkpoint root hash has {len(self.root_hash)} bytes, not 32")
        for line in self.extensions:
            if not line or "\n" in line or _CONTROL.search(line):
                raise InvalidInputError(f"checkpoint extension {line!r} must be one non-empty line")

    def render(self) -> str:
        """Return the note text ``origin\\nsize\\nbase64(root)\\n[extension lines]``."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text; raise InvalidInputError if it is malformed."""
    if not text.endswith("\n"):
        raise InvalidInputError("checkpoint must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise InvalidInputError(f"checkpoint has {len(lines)} lines, needs at least 3")
    origin, size, encoded_root, *extensions = lines
    if not _TREE_SIZE.fullmatch(size):
        raise InvalidInputError(f"checkpoint size {size!r} is not a decimal without leading zeros")
    try:
        root = _b64decode(encoded_root, "checkpoint root hash")
    except VerificationError as e:
        raise InvalidInputError(str(e)) from e
    if _b64encode(root) != encoded_root:
        raise InvalidInputError(f"checkpoint root hash {encoded_root!r} is not canonical base64")
    return Checkpoint(origin, int(size), root, tuple(extensions))


def open_checkpoint(note: str, verifiers: Iterable[Verifier]) -> tuple[Checkpoint, VerifiedNote]:
    """Verify a signed checkpoint note (see open_note) and parse its body."""
    verified = open_note(note, verifiers)
    try:
        return parse_checkpoint(verified.text), verified
    except InvalidInputError as e:
        raise VerificationError(f"signed note is not a checkpoint: {e}") from e


# --- cosignatures -------------------------------------------------------------------------


def _cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def cosign_checkpoint(body: str, signer: Signer, timestamp: int) -> str:
    """Return the tlog-cosignature/v1 signature line (newline included) over a checkpoint body.

    `timestamp` is POSIX seconds; `signer` must have type 0x04.
    """
    parse_checkpoint(body)
    if signer.alg != ALG_COSIGNATURE_V1:
        raise InvalidInputError(
            f"cosigner {signer.name} must have type 0x04, not 0x{signer.alg:02x}"
        )
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise InvalidInputError(f"cosignature timestamp {timestamp} is outside [0, 2^63 - 1]")
    payload = timestamp.to_bytes(8, "big") + signer.sign(_cosigned_message(body, timestamp))
    return NoteSignature(signer.name, signer.key_id, payload).render()


def _verify_timestamped(body: str, payload: bytes, verifier: Verifier) -> int:
    expected = 8 + _ED25519_SIGNATURE_SIZE
    if len(payload) != expected:
        raise VerificationError(
            f"cosignature from {verifier.key_string} has {len(payload)} bytes, expected {expected}"
        )
    timestamp = int.from_bytes(payload[:8], "big")
    if timestamp > _MAX_TIMESTAMP:
        raise VerificationError(f"cosignature timestamp {timestamp} exceeds 2^63 - 1")
    verifier.verify(_cosigned_message(body, timestamp), payload[8:])
    return timestamp


def verify_cosignature(body: str, line: str, verifier: Verifier) -> int:
    """Check one cosignature line over a checkpoint body; return its timestamp (POSIX seconds).

    Raises VerificationError if the line is malformed, from another key, or invalid.
    """
    if verifier.alg != ALG_COSIGNATURE_V1:
        raise InvalidInputError(f"verifier {verifier.name} has type 0x{verifier.alg:02x}, not 0x04")
    try:
        parse_checkpoint(body)
    except InvalidInputError as e:
        raise VerificationError(f"cosigned body is not a checkpoint: {e}") from e
    signature = _parse_signature_line(line.removesuffix("\n"))
    if (signature.name, signature.key_id) != (verifier.name, verifier.key_id):
        raise VerificationError(
            f"cosignature is from {signature.name}+{signature.key_id.hex()}, "
            f"expected {verifier.name}+{verifier.key_id.hex()}"
        )
    return _verify_timestamped(body, signature.signature, verifier)
