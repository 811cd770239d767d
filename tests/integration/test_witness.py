"""Witnesses: registration, cosignatures, and the member-state witness against the API."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pnyx.api.app import create_app
from pnyx.domain.identity import Actor, MemberAdmitted, NewPrincipal, Role
from pnyx.errors import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    VerificationError,
)
from pnyx.ledger import merkle, note
from pnyx.services import checkpoints, identity, witnesses
from pnyx.services.context import ServiceContext
from pnyx.services.record import record
from pnyx.services.witness_client import WitnessState, load_state, run_witness, save_state
from pnyx.settings import Settings
from pnyx.store import tables as t
from pnyx.store import tables_ledger as tl
from pnyx.store.db import Database, url_for_data_dir
from pnyx.store.replay import check_replay
from pnyx.store.schema import migrate

SYSTEM = Actor.system()
NOW_S = 1_780_000_000


@pytest.fixture
def client(ctx: ServiceContext) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), ctx=ctx)) as c:
        yield c


@pytest.fixture
def witness_key() -> note.Signer:
    return note.generate_signer("witness.de.example", note.ALG_COSIGNATURE_V1)


def append(ctx: ServiceContext, count: int) -> None:
    with ctx.db.read() as conn:
        first = int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)
    events = [MemberAdmitted(member_id=f"m{i}", name=f"M {i}") for i in range(first, first + count)]
    with ctx.db.transaction() as conn:
        record(conn, ctx, SYSTEM, events)


def cosignature_count(ctx: ServiceContext) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(tl.cosignatures)).scalar() or 0)


def register(ctx: ServiceContext, key: note.Signer, member: str | None = None) -> str:
    return witnesses.register_witness(ctx, SYSTEM, "Germany", key.verifier_key, member).witness_id


def checkpointed(ctx: ServiceContext, count: int) -> int:
    append(ctx, count)
    return checkpoints.issue_checkpoint(ctx, SYSTEM)[0].size


# --- registration -------------------------------------------------------------------------


def test_operator_registers_a_witness_over_http(
    client: TestClient, ctx: ServiceContext, witness_key: note.Signer
) -> None:
    identity.admit_member(ctx, SYSTEM, "de", "Germany")
    identity.create_principal(ctx, SYSTEM, NewPrincipal("ops", "Ops", frozenset({Role.OPERATOR})))
    headers = {"Authorization": f"Bearer {identity.issue_token(ctx, SYSTEM, 'ops').token}"}
    body = {"name": "Germany (BSI)", "verifier_key": witness_key.verifier_key, "member_id": "de"}
    assert client.post("/api/v1/log/witnesses", json=body).status_code == 403
    resp = client.post("/api/v1/log/witnesses", json=body, headers=headers)
    assert resp.status_code == 201
    listed = client.get("/api/v1/log/witnesses").json()
    assert [(w["name"], w["member_id"], w["verifier_key"]) for w in listed] == [
        ("Germany (BSI)", "de", witness_key.verifier_key)
    ]
    assert client.post("/api/v1/log/witnesses", json=body, headers=headers).status_code == 409
    assert check_replay(ctx.db).ok  # the witnesses table is a projection of the events


def test_registration_refuses_log_keys_and_unknown_members(
    client: TestClient, ctx: ServiceContext, witness_key: note.Signer
) -> None:
    ed25519 = note.generate_signer("witness.fr.example")  # type 0x01: not a cosigner
    with pytest.raises(InvalidInputError, match="type 0x01"):
        witnesses.register_witness(ctx, SYSTEM, "France", ed25519.verifier_key)
    with pytest.raises(InvalidInputError):
        witnesses.register_witness(ctx, SYSTEM, "France", "not+a+key")
    with pytest.raises(NotFoundError, match="member 'fr'"):
        witnesses.register_witness(ctx, SYSTEM, "France", witness_key.verifier_key, "fr")
    with pytest.raises(PermissionDeniedError):
        witnesses.register_witness(ctx, Actor.public(), "France", witness_key.verifier_key)
    assert client.get("/api/v1/log/witnesses").json() == []


# --- cosignatures -------------------------------------------------------------------------


def test_cosignature_is_verified_stored_once_and_served(
    client: TestClient, ctx: ServiceContext, witness_key: note.Signer
) -> None:
    witness_id = register(ctx, witness_key)
    size = checkpointed(ctx, 3)
    body, _ = note.split_note(client.get("/api/v1/log/checkpoint").text)
    line = note.cosign_checkpoint(body, witness_key, NOW_S)
    posted = {"checkpoint_size": size, "cosignature": line}
    first = client.post("/api/v1/log/cosignatures", json=posted)
    assert first.status_code == 201
    assert first.json()["witness_id"] == witness_id
    assert first.json()["timestamp"] == NOW_S
    assert client.post("/api/v1/log/cosignatures", json=posted).status_code == 200
    assert cosignature_count(ctx) == 1
    served = client.get("/api/v1/log/checkpoint").text
    assert served.endswith(line)
    log_verifier = note.parse_verifier_key(client.get("/api/v1/log/key").text)
    opened = note.open_note(served, [log_verifier, witness_key.verifier])
    assert [s.timestamp for s in opened.signatures] == [None, NOW_S]


def test_cosignature_from_an_unregistered_key_is_refused(
    client: TestClient, ctx: ServiceContext, witness_key: note.Signer
) -> None:
    size = checkpointed(ctx, 2)
    body, _ = note.split_note(client.get("/api/v1/log/checkpoint").text)
    line = note.cosign_checkpoint(body, witness_key, NOW_S)
    resp = client.post(
        "/api/v1/log/cosignatures", json={"checkpoint_size": size, "cosignature": line}
    )
    assert resp.status_code == 403
    assert "not a registered witness" in resp.json()["detail"]
    assert cosignature_count(ctx) == 0
    assert client.get("/api/v1/log/checkpoint").text.count("\u2014 ") == 1


def test_cosignature_over_another_checkpoint_is_refused(
    client: TestClient, ctx: ServiceContext, witness_key: note.Signer
) -> None:
    register(ctx, witness_key)
    first = checkpointed(ctx, 2)
    second = checkpointed(ctx, 2)
    body, _ = note.split_note(client.get("/api/v1/log/checkpoint").text)
    line = note.cosign_checkpoint(body, witness_key, NOW_S)  # cosigns `second`
    wrong = client.post(
        "/api/v1/log/cosignatures", json={"checkpoint_size": first, "cosignature": line}
    )
    assert wrong.status_code == 422
    unknown = {"checkpoint_size": second + 1, "cosignature": line}
    assert client.post("/api/v1/log/cosignatures", json=unknown).status_code == 404
    garbled = {"checkpoint_size": second, "cosignature": "\u2014 witness.de.example !!"}
    assert client.post("/api/v1/log/cosignatures", json=garbled).status_code == 422
    assert cosignature_count(ctx) == 0


# --- the member-state witness ---------------------------------------------------------------


def test_witness_round_trip(
    client: TestClient, ctx: ServiceContext, witness_key: note.Signer, tmp_path: Path
) -> None:
    register(ctx, witness_key)
    state_file = tmp_path / "state.json"
    first = checkpointed(ctx, 5)
    report = run_witness(client, witness_key, state_file, NOW_S)
    assert (report.old_size, report.size, report.newly_stored) == (0, first, True)
    assert client.get("/api/v1/log/checkpoint").text.endswith(report.cosignature)
    assert load_state(state_file).log_key == client.get("/api/v1/log/key").text

    second = checkpointed(ctx, 4)
    grown = run_witness(client, witness_key, state_file, NOW_S + 60)
    assert (grown.old_size, grown.size) == (first, second)
    assert cosignature_count(ctx) == 2
    again = run_witness(client, witness_key, state_file, NOW_S + 120)  # nothing new: idempotent
    assert (again.old_size, again.size, again.newly_stored) == (second, second, False)
    assert cosignature_count(ctx) == 2


def test_witness_refuses_a_checkpoint_signed_by_another_key(
    client: TestClient, ctx: ServiceContext, witness_key: note.Signer, tmp_path: Path
) -> None:
    checkpointed(ctx, 3)
    real_key = client.get("/api/v1/log/key").text
    forger = note.generate_signer("pnyx.test/log")
    forged = note.sign_note(note.Checkpoint("pnyx.test/log", 3, bytes(32)).render(), [forger])
    routes = {"/api/v1/log/key": real_key, "/api/v1/log/checkpoint": forged}
    posted: list[httpx.Request] = []

    def serve(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posted.append(request)
        return httpx.Response(200, text=routes.get(request.url.path, ""))

    fake = httpx.Client(base_url="http://log.example", transport=httpx.MockTransport(serve))
    with pytest.raises(VerificationError, match="not signed by any known key"):
        run_witness(fake, witness_key, tmp_path / "state.json", NOW_S)
    assert posted == []
    assert not (tmp_path / "state.json").exists()


def test_witness_refuses_a_changed_log_key(
    client: TestClient, ctx: ServiceContext, witness_key: note.Signer, tmp_path: Path
) -> None:
    register(ctx, witness_key)
    state_file = tmp_path / "state.json"
    checkpointed(ctx, 2)
    run_witness(client, witness_key, state_file, NOW_S)
    pinned = json.loads(state_file.read_text())
    ctx.log_signer = note.generate_signer("pnyx.test/log")  # the server now signs with another
    with pytest.raises(VerificationError, match="log key changed"):
        run_witness(client, witness_key, state_file, NOW_S + 1)
    assert json.loads(state_file.read_text()) == pinned


def test_witness_refuses_an_inconsistent_history(
    client: TestClient, ctx: ServiceContext, witness_key: note.Signer, tmp_path: Path
) -> None:
    register(ctx, witness_key)
    state_file = tmp_path / "state.json"
    checkpointed(ctx, 6)
    run_witness(client, witness_key, state_file, NOW_S)
    seen = load_state(state_file)

    # A second log under the same key whose history is not an extension of the first.
    fork_db = Database(url_for_data_dir(tmp_path / "fork"))
    migrate(fork_db)
    fork = ServiceContext(db=fork_db, clock=ctx.clock, log_signer=ctx.log_signer)
    register(fork, witness_key)
    checkpointed(fork, 12)
    with (
        TestClient(create_app(Settings(), ctx=fork)) as fork_client,
        pytest.raises(VerificationError, match="not consistent with checkpoint"),
    ):
        run_witness(fork_client, witness_key, state_file, NOW_S + 1)
    assert cosignature_count(fork) == 0
    assert load_state(state_file) == seen
    fork_db.dispose()


def test_witness_refuses_a_rollback(
    client: TestClient, ctx: ServiceContext, witness_key: note.Signer, tmp_path: Path
) -> None:
    register(ctx, witness_key)
    state_file = tmp_path / "state.json"
    size = checkpointed(ctx, 4)
    key = client.get("/api/v1/log/key").text
    later = merkle.root_hash([b"x"] * (size + 3))
    save_state(state_file, WitnessState(key, size + 3, base64.b64encode(later).decode()))
    with pytest.raises(VerificationError, match="rolled back"):
        run_witness(client, witness_key, state_file, NOW_S)
    assert cosignature_count(ctx) == 0


def test_cosign_service_names_the_unregistered_key(
    ctx: ServiceContext, witness_key: note.Signer
) -> None:
    size = checkpointed(ctx, 1)
    body, _ = note.split_note(checkpoints.latest_cosigned_note(ctx))
    line = note.cosign_checkpoint(body, witness_key, NOW_S)
    with pytest.raises(PermissionDeniedError, match=witness_key.key_id.hex()):
        witnesses.add_cosignature(ctx, size, line)
