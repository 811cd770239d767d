"""The public log API over HTTP (SQLite and PostgreSQL): checkpoints, entries, proofs, tiles."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pnyx.api.app import create_app
from pnyx.domain.identity import Actor, MemberAdmitted, NewPrincipal, Role
from pnyx.ledger import merkle, note, tiles
from pnyx.services import identity
from pnyx.services.context import ServiceContext
from pnyx.services.record import record
from pnyx.settings import Settings
from pnyx.store import tables as t

SYSTEM = Actor.system()


@pytest.fixture
def client(ctx: ServiceContext) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), ctx=ctx)) as c:
        yield c


def operator_headers(ctx: ServiceContext) -> dict[str, str]:
    new = NewPrincipal("ops", "Operations", frozenset({Role.OPERATOR}))
    identity.create_principal(ctx, SYSTEM, new)
    return {"Authorization": f"Bearer {identity.issue_token(ctx, SYSTEM, 'ops').token}"}


def append(ctx: ServiceContext, count: int, *, per_transaction: int = 1) -> None:
    with ctx.db.read() as conn:
        first = int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)
    for start in range(first, first + count, per_transaction):
        batch = range(start, min(start + per_transaction, first + count))
        events = [MemberAdmitted(member_id=f"m{i}", name=f"Member {i}") for i in batch]
        with ctx.db.transaction() as conn:
            record(conn, ctx, SYSTEM, events)


def all_entries(client: TestClient) -> list[bytes]:
    out: list[bytes] = []
    while True:
        page = client.get("/api/v1/log/entries", params={"start": len(out)}).json()
        if not page["entries"]:
            return out
        out.extend(e.encode() for e in page["entries"])


def b64d(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


# --- key and checkpoints ------------------------------------------------------------------


def test_key_is_the_log_verifier_key(client: TestClient, ctx: ServiceContext) -> None:
    resp = client.get("/api/v1/log/key")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert ctx.log_signer is not None
    assert resp.text == ctx.log_signer.verifier_key
    assert note.parse_verifier_key(resp.text).alg == note.ALG_ED25519


def test_checkpoint_is_404_then_signed_and_verifiable(
    client: TestClient, ctx: ServiceContext
) -> None:
    assert client.get("/api/v1/log/checkpoint").status_code == 404
    assert client.get("/checkpoint").status_code == 404
    headers = operator_headers(ctx)
    first = client.post("/api/v1/log/checkpoints", headers=headers)
    assert first.status_code == 201
    again = client.post("/api/v1/log/checkpoints", headers=headers)
    assert (again.status_code, again.json()) == (200, first.json())
    signed = client.get("/api/v1/log/checkpoint").text
    assert client.get("/checkpoint").text == signed
    verifier = note.parse_verifier_key(client.get("/api/v1/log/key").text)
    checkpoint, _ = note.open_checkpoint(signed, [verifier])
    assert checkpoint.size == first.json()["size"] == 2  # principal + token events
    assert checkpoint.root_hash == merkle.root_hash(all_entries(client))


def test_issuing_a_checkpoint_needs_an_operator(client: TestClient, ctx: ServiceContext) -> None:
    append(ctx, 1)
    resp = client.post("/api/v1/log/checkpoints")
    assert resp.status_code == 403
    assert client.get("/api/v1/log/checkpoints").json()["total"] == 0


def test_checkpoints_are_listed_oldest_first(client: TestClient, ctx: ServiceContext) -> None:
    ctx.checkpoint_every_events = 2
    append(ctx, 7)
    page = client.get("/api/v1/log/checkpoints", params={"offset": 1, "limit": 2}).json()
    assert (page["total"], page["offset"], page["limit"]) == (3, 1, 2)
    assert [c["size"] for c in page["items"]] == [4, 6]
    assert set(page["items"][0]) == {"size", "root_hash", "issued_at", "note"}
    leaves = all_entries(client)
    assert b64d(page["items"][0]["root_hash"]) == merkle.root_hash(leaves[:4])
    head = client.get("/api/v1/log/head").json()
    assert (head["size"], head["checkpoint"]["size"]) == (7, 6)


# --- entries ------------------------------------------------------------------------------


def test_entries_by_range(client: TestClient, ctx: ServiceContext) -> None:
    append(ctx, 12, per_transaction=12)
    body = client.get("/api/v1/log/entries", params={"start": 2, "end": 5}).json()
    assert (body["start"], body["end"], len(body["entries"])) == (2, 5, 3)
    assert client.get("/api/v1/log/entries", params={"start": 10, "end": 99}).json()["end"] == 12
    for params in ({"start": 13}, {"start": 5, "end": 5}, {"start": -1}, {"end": 0}):
        resp = client.get("/api/v1/log/entries", params=params)
        assert resp.status_code == 422, params
        assert resp.json()["error"] == "invalid_input"


# --- proofs -------------------------------------------------------------------------------


def test_inclusion_proofs_from_the_api_verify(client: TestClient, ctx: ServiceContext) -> None:
    append(ctx, 21, per_transaction=3)
    leaves = all_entries(client)
    for size in (1, 4, 7, 16, 21):
        for index in {0, size // 3, size - 1}:
            resp = client.get("/api/v1/log/proof/inclusion", params={"index": index, "size": size})
            p = resp.json()
            root = merkle.root_hash(leaves[:size])
            assert (p["index"], p["size"], b64d(p["root_hash"])) == (index, size, root)
            proof = [b64d(h) for h in p["proof"]]
            merkle.verify_inclusion(merkle.leaf_hash(leaves[index]), index, size, proof, root)


def test_inclusion_proof_by_leaf_hash(client: TestClient, ctx: ServiceContext) -> None:
    append(ctx, 6)
    leaves = all_entries(client)
    for index, leaf in enumerate(leaves):
        wanted = base64.b64encode(merkle.leaf_hash(leaf)).decode()
        p = client.get("/api/v1/log/proof/inclusion", params={"leaf_hash": wanted}).json()
        assert (p["index"], p["leaf_hash"], p["size"]) == (index, wanted, 6)
    missing = base64.b64encode(bytes(32)).decode()
    resp = client.get("/api/v1/log/proof/inclusion", params={"leaf_hash": missing})
    assert resp.status_code == 404
    assert client.get("/api/v1/log/proof/inclusion").status_code == 422


def test_consistency_proofs_from_the_api_verify(client: TestClient, ctx: ServiceContext) -> None:
    append(ctx, 19, per_transaction=2)
    leaves = all_entries(client)
    for old in (1, 3, 4, 9, 19):
        for new in sorted({old, min(old + 5, 19), 19}):
            p = client.get("/api/v1/log/proof/consistency", params={"old": old, "new": new}).json()
            old_root, new_root = merkle.root_hash(leaves[:old]), merkle.root_hash(leaves[:new])
            assert (b64d(p["old_root"]), b64d(p["new_root"])) == (old_root, new_root)
            assert (p["old_size"], p["new_size"]) == (old, new)
            merkle.verify_consistency(old, new, old_root, new_root, [b64d(h) for h in p["proof"]])
    bad = client.get("/api/v1/log/proof/consistency", params={"old": 5, "new": 20})
    assert bad.status_code == 422


# --- tiles --------------------------------------------------------------------------------


def test_tiles_hold_the_hashes_recomputed_from_entries(
    client: TestClient, ctx: ServiceContext
) -> None:
    append(ctx, 600, per_transaction=600)
    leaves = all_entries(client)
    hashes = [merkle.leaf_hash(e) for e in leaves]
    full = client.get("/tile/0/000")
    assert full.headers["content-type"] == "application/octet-stream"
    assert full.content == b"".join(hashes[:256])
    assert client.get("/tile/0/001").content == b"".join(hashes[256:512])
    assert client.get("/tile/0/002.p/88").content == b"".join(hashes[512:600])
    assert client.get("/tile/0/002.p/3").content == b"".join(hashes[512:515])
    level1 = client.get("/tile/1/000.p/2").content
    assert level1 == merkle.root_hash(leaves[:256]) + merkle.root_hash(leaves[256:512])
    for missing in ("/tile/0/002", "/tile/0/002.p/89", "/tile/1/000", "/tile/0/x001/000"):
        assert client.get(missing).status_code == 404, missing


def test_entry_bundles_hold_the_entries(client: TestClient, ctx: ServiceContext) -> None:
    append(ctx, 300, per_transaction=300)
    leaves = all_entries(client)
    assert tiles.decode_entry_bundle(client.get("/tile/entries/000").content) == leaves[:256]
    partial = client.get("/tile/entries/001.p/44").content
    assert tiles.decode_entry_bundle(partial) == leaves[256:300]
    assert partial[:2] == len(leaves[256]).to_bytes(2, "big")
    assert client.get("/tile/entries/001").status_code == 404


def test_malformed_tile_paths_are_refused(client: TestClient, ctx: ServiceContext) -> None:
    append(ctx, 3)
    for path in ("/tile/0/1", "/tile/00/000", "/tile/0/000.p/256", "/tile/0/000.p/0", "/tile/x"):
        assert client.get(path).status_code == 422, path
