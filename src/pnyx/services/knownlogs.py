"""Log keys a verifier has seen, per server (``~/.config/pnyx/known_logs``): trust on first use.

``pnyx ledger verify --url URL`` without ``--key`` takes the log key the server publishes; the
first time it says so and remembers the key for that server's origin (scheme, host, port and
path of the URL), and every later run refuses a server that then serves a different key for
the same origin, naming both keys. The file holds one ``<origin> <verifier key>`` line per
server; lines starting with ``#`` are comments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pnyx.errors import ConflictError, InvalidInputError
from pnyx.ledger import note
from pnyx.services.logkey import parse_key_file


def default_known_keys() -> Path:
    """``$XDG_CONFIG_HOME/pnyx/known_logs``, else ``~/.config/pnyx/known_logs``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pnyx" / "known_logs"


def server_origin(url: str) -> str:
    """The origin a key is pinned for: ``scheme://host[:port][/path]``, lower-case host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(f"{url!r} is not an http(s) URL")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}{parts.path.rstrip('/')}"


def parse_log_key(text: str) -> note.Verifier:
    """``--key``: a verifier key string, or a file holding one (or the log's signer key file)."""
    value = text.strip()
    if value.count("+") >= 2 and not Path(value).is_file():
        return _log_verifier(note.parse_verifier_key(value), value)
    path = Path(value).expanduser()
    if not path.is_file():
        raise InvalidInputError(f"--key {text!r} is neither a verifier key nor a readable file")
    content = path.read_text(encoding="ascii", errors="replace").strip()
    if content.startswith("PRIVATE+KEY+"):
        return _log_verifier(parse_key_file(path).verifier, str(path))
    try:
        return _log_verifier(note.parse_verifier_key(content), str(path))
    except InvalidInputError as e:
        raise InvalidInputError(f"key file {path}: {e}") from e


def _log_verifier(verifier: note.Verifier, where: str) -> note.Verifier:
    if verifier.alg != note.ALG_ED25519:
        raise InvalidInputError(f"{where}: a log key has type 0x01, not 0x{verifier.alg:02x}")
    return verifier


@dataclass(frozen=True)
class Pinning:
    """The outcome of checking a served key against the known keys file."""

    origin: str
    key: str
    first_use: bool  # True: not known before, now remembered
    path: Path

    def message(self) -> str:
        """The line a verifier prints about where its trust in the key comes from."""
        if self.first_use:
            return f"log key taken from the server (trust on first use): {self.key}"
        return f"log key of {self.origin} matches the one pinned in {self.path}: {self.key}"


def read_known_keys(path: Path) -> dict[str, str]:
    """Origin -> verifier key string, from the known keys file (empty when it is missing)."""
    if not path.is_file():
        return {}
    known: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        origin, _, key = text.partition(" ")
        if not key.strip():
            raise InvalidInputError(f"{path}:{number}: expected '<origin> <verifier key>'")
        known.setdefault(origin, key.strip())
    return known


def pin_log_key(path: Path, url: str, served: note.Verifier) -> Pinning:
    """Check ``served`` against the key pinned for ``url``'s origin, pinning it on first use.

    Raises ConflictError naming both keys when the origin is pinned to another key.
    """
    origin = server_origin(url)
    key = served.key_string
    pinned = read_known_keys(path).get(origin)
    if pinned is not None and pinned != key:
        raise ConflictError(
            f"{origin} now serves log key {key}, but {path} pins {pinned} for it: the log key "
            "changed or this is not the same log (remove the line to trust the new key)"
        )
    if pinned is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(f"{origin} {key}\n")
    return Pinning(origin, key, pinned is None, path)
