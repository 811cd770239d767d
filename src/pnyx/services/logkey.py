"""The log's Ed25519 signing key: a file holding the note signer key string.

The key file holds one line ``PRIVATE+KEY+<origin>+<keyid>+<base64>`` (mode 0600). In
development mode a missing file is created with a fresh key on first use; in production
Settings refuses to start without one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pnyx.errors import ConflictError, InvalidInputError, NotFoundError
from pnyx.ledger import note


def load_log_signer(path: Path, origin: str, *, create: bool) -> note.Signer:
    """The log signer stored in ``path``; with ``create``, a new key is written if missing.

    Raises InvalidInputError when the file does not hold an Ed25519 (0x01) key named ``origin``
    and NotFoundError when it is missing and ``create`` is false.
    """
    if not path.exists():
        if not create:
            raise NotFoundError(f"log key file {path} does not exist (set PNYX_LOG_KEY_FILE)")
        write_key_file(path, note.generate_signer(origin).key_string, exist_ok=True)
    signer = parse_key_file(path)
    if signer.alg != note.ALG_ED25519:
        raise InvalidInputError(f"log key in {path} has type 0x{signer.alg:02x}, expected 0x01")
    if signer.name != origin:
        raise InvalidInputError(
            f"log key in {path} is named {signer.name!r} but the log origin is {origin!r}: "
            "set PNYX_LOG_ORIGIN to the key's name or use the key of this origin"
        )
    return signer


def parse_key_file(path: Path) -> note.Signer:
    """Parse a signer key file (one ``PRIVATE+KEY+...`` line)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"cannot read key file {path}: {e}") from e
    try:
        return note.parse_signer_key(text)
    except InvalidInputError as e:
        raise InvalidInputError(f"key file {path}: {e}") from e


def write_key_file(path: Path, key_string: str, *, exist_ok: bool = False) -> None:
    """Write a secret key file with mode 0600, atomically; never overwrites an existing file.

    An existing file is kept when ``exist_ok`` (another process created it first: the caller
    reads it back), else ConflictError.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key_string + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic, and fails if the file exists
        except FileExistsError:
            if not exist_ok:
                raise ConflictError(f"{path} exists already; not overwriting a key") from None
    finally:
        tmp.unlink(missing_ok=True)
