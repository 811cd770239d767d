"""The witness a member state runs against a pnyx log (``pnyx witness run``).

One pass: fetch the log's verifier key (pinned in the state file on first contact, a changed key
is refused), fetch the latest checkpoint and verify its signature, verify a consistency proof
from the last checkpoint this witness saw, and only then cosign (C2SP tlog-cosignature/v1) and
post the cosignature. Any failure raises VerificationError: refusing to cosign an inconsistent
or badly signed checkpoint is the witness's whole purpose.

It talks to the log through any ``httpx.Client`` whose base URL is the server (a FastAPI
``TestClient`` in tests). The state file is JSON: ``{"log_key", "size", "root_hash"}``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from pnyx.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PnyxError,
    VerificationError,
)
from pnyx.ledger import merkle, note

_BY_STATUS: dict[int, type[PnyxError]] = {
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidInputError,
}


@dataclass(frozen=True)
class WitnessState:
    """What the witness remembers between runs."""

    log_key: str | None = None  # pinned on first contact
    size: int = 0  # the last checkpoint it verified (0: none yet)
    root_hash: str = ""  # its root, base64


@dataclass(frozen=True)
class WitnessReport:
    """The outcome of one witness pass."""

    log_key: str
    old_size: int
    size: int
    root_hash: str
    cosignature: str
    newly_stored: bool


def load_state(path: Path) -> WitnessState:
    """The state in ``path``; a missing file is a first contact."""
    if not path.exists():
        return WitnessState()
    try:
        return WitnessState(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as e:
        raise InvalidInputError(f"witness state file {path} is unreadable: {e}") from e


def save_state(path: Path, state: WitnessState) -> None:
    """Write the state atomically (a crash leaves the old or the new state, never half)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def pin_log_key(state: WitnessState, served: str) -> note.Verifier:
    """The log's verifier: trust on first use, then refuse any other key."""
    verifier = note.parse_verifier_key(served.strip())
    if verifier.alg != note.ALG_ED25519:
        raise VerificationError(f"log key {served.strip()} is not an Ed25519 (0x01) note key")
    if state.log_key is not None and state.log_key != verifier.key_string:
        raise VerificationError(
            f"log key changed: this witness pinned {state.log_key}, the server now serves "
            f"{verifier.key_string}"
        )
    return verifier


def open_log_checkpoint(signed: str, verifier: note.Verifier) -> tuple[note.Checkpoint, str]:
    """Verify the log's signature on a checkpoint note; returns (checkpoint, signed body)."""
    try:
        checkpoint, opened = note.open_checkpoint(signed, [verifier])
    except (InvalidInputError, VerificationError) as e:
        raise VerificationError(f"checkpoint rejected: {e}") from e
    if checkpoint.origin != verifier.name:
        raise VerificationError(
            f"checkpoint origin {checkpoint.origin!r} is not the log key's name {verifier.name!r}"
        )
    return checkpoint, opened.text


def verify_extension(
    state: WitnessState, checkpoint: note.Checkpoint, proof: list[bytes] | None
) -> None:
    """Check that ``checkpoint`` extends the one in ``state`` (``proof``: old -> new)."""
    if state.size == 0:
        return  # first contact: nothing seen yet to be consistent with
    old_root = base64.b64decode(state.root_hash)
    if checkpoint.size < state.size:
        raise VerificationError(
            f"log rolled back: its checkpoint has size {checkpoint.size}, this witness already "
            f"saw size {state.size}"
        )
    try:
        merkle.verify_consistency(
            state.size, checkpoint.size, old_root, checkpoint.root_hash, proof or []
        )
    except VerificationError as e:
        raise VerificationError(
            f"log checkpoint {checkpoint.size} is not consistent with checkpoint {state.size} "
            f"this witness saw: {e}"
        ) from e


def run_witness(
    client: httpx.Client, signer: note.Signer, state_path: Path, now_s: int
) -> WitnessReport:
    """One witness pass against the log served by ``client`` (see the module docstring)."""
    state = load_state(state_path)
    verifier = pin_log_key(state, _get_text(client, "/api/v1/log/key"))
    checkpoint, body = open_log_checkpoint(_get_text(client, "/api/v1/log/checkpoint"), verifier)
    proof = None
    if 0 < state.size < checkpoint.size:
        proof = _fetch_consistency(client, state.size, checkpoint.size)
    verify_extension(state, checkpoint, proof)
    root = base64.b64encode(checkpoint.root_hash).decode()
    save_state(state_path, WitnessState(verifier.key_string, checkpoint.size, root))
    line = note.cosign_checkpoint(body, signer, now_s)
    answer = _send(
        client,
        "POST",
        "/api/v1/log/cosignatures",
        json={"checkpoint_size": checkpoint.size, "cosignature": line},
    )
    return WitnessReport(
        log_key=verifier.key_string,
        old_size=state.size,
        size=checkpoint.size,
        root_hash=root,
        cosignature=line,
        newly_stored=answer.status_code == 201,
    )


def _fetch_consistency(client: httpx.Client, old: int, new: int) -> list[bytes]:
    params = {"old": old, "new": new}
    resp = _send(client, "GET", "/api/v1/log/proof/consistency", params=params)
    body: dict[str, Any] = resp.json()
    try:
        return [base64.b64decode(h, validate=True) for h in body["proof"]]
    except (KeyError, TypeError, ValueError) as e:
        raise VerificationError(f"malformed consistency proof from the log: {e}") from e


def _get_text(client: httpx.Client, path: str) -> str:
    return _send(client, "GET", path).text


def _send(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        resp = client.request(method, path, **kwargs)
    except httpx.HTTPError as e:
        raise PnyxError(f"cannot reach the log at {client.base_url}: {e}") from e
    if resp.status_code >= 400:
        try:
            detail = resp.json().get("detail", resp.text)
        except ValueError:
            detail = resp.text
        raise _BY_STATUS.get(resp.status_code, PnyxError)(f"log server: {detail}")
    return resp
