"""The portal's Record page over a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from pnyx.api.app import create_app
from pnyx.domain.identity import Actor
from pnyx.ledger import merkle, note
from pnyx.services import checkpoints, identity, witnesses
from pnyx.services.context import ServiceContext
from pnyx.services.ledger_dto import CheckpointView
from pnyx.services.record_view import check_entry
from pnyx.settings import Settings
from pnyx.store import tables as t

SYSTEM = Actor.system()
MEMBERS = {"de": "Germany", "fr": "France", "it": "Italy"}


@pytest.fixture
def client(ctx: ServiceContext) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), ctx=ctx)) as c:
        yield c


def populate(ctx: ServiceContext) -> CheckpointView:
    for member_id, name in MEMBERS.items():
        identity.admit_member(ctx, SYSTEM, member_id, name)
    view, created = checkpoints.issue_checkpoint(ctx, SYSTEM)
    assert created and view.size == 3
    return view


def text_of(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page)
    assert match, f"no element with id {element_id}"
    return html.unescape(match.group(1)).strip()


def proof_hashes(page: str) -> list[str]:
    listing = page.split('id="proof-hashes"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r"<li><code>([^<]+)</code></li>", listing)


def stored_entry(ctx: ServiceContext, index: int) -> str:
    with ctx.db.read() as conn:
        row = conn.execute(t.events.select().where(t.events.c.seq == index)).first()
    assert row is not None
    return str(row.entry)


def test_empty_log_shows_the_checkpoint_hint(client: TestClient) -> None:
    r = client.get("/record")
    assert r.status_code == 200
    assert 'id="no-checkpoint"' in r.text
    assert "pnyx ledger checkpoint" in r.text
    assert 'id="checkpoint-size"' not in r.text
    assert '<a href="/record" aria-current="page">Record</a>' in r.text
    r = client.get("/record?entry=0")
    assert r.status_code == 404
    assert "no checkpoint has been issued yet" in text_of(r.text, "entry-error")


def test_page_shows_the_latest_checkpoint_and_key(ctx: ServiceContext, client: TestClient) -> None:
    cp = populate(ctx)
    identity.admit_member(ctx, SYSTEM, "es", "Spain")  # recorded after the checkpoint
    page = client.get("/record").text
    assert text_of(page, "checkpoint-size") == "3"
    assert text_of(page, "checkpoint-root") == cp.root_hash
    assert text_of(page, "tree-size") == "4"
    assert text_of(page, "checkpoint-issued") == cp.issued_at
    assert html.unescape(page.split('id="checkpoint-note">', 1)[1].split("</pre>")[0]) == cp.note
    assert ctx.log_signer is not None
    assert text_of(page, "log-key") == ctx.log_signer.verifier_key
    assert "signature on this checkpoint verifies" in text_of(page, "signature-check")
    assert 'id="no-witnesses"' in page


def test_entry_shows_text_leaf_hash_and_verified_proof(
    ctx: ServiceContext, client: TestClient
) -> None:
    cp = populate(ctx)
    r = client.get("/record?entry=1")
    assert r.status_code == 200
    entry = stored_entry(ctx, 1)
    assert '"fr"' in entry
    assert text_of(r.text, "entry-text") == entry
    leaf = merkle.leaf_hash(entry.encode())
    assert text_of(r.text, "leaf-hash") == base64.b64encode(leaf).decode()
    shown = [base64.b64decode(h) for h in proof_hashes(r.text)]
    assert len(shown) == 2  # leaf 1 of 3: its sibling leaf 0, then leaf 2
    merkle.verify_inclusion(leaf, 1, 3, shown, base64.b64decode(cp.root_hash))
    assert "Proof verified" in r.text and "NOT verified" not in r.text
    assert 'data-index="1" data-size="3"' in r.text
    assert '<script src="/static/record.js" defer></script>' in r.text


def test_search_by_leaf_hash_finds_the_same_entry(ctx: ServiceContext, client: TestClient) -> None:
    populate(ctx)
    leaf = base64.b64encode(merkle.leaf_hash(stored_entry(ctx, 2).encode())).decode()
    r = client.get("/record", params={"leaf_hash": leaf, "entry": ""})
    assert r.status_code == 200
    assert text_of(r.text, "entry-heading") == "Entry 2"
    assert "Proof verified" in r.text


def test_entry_outside_the_checkpoint_is_a_clear_4xx(
    ctx: ServiceContext, client: TestClient
) -> None:
    populate(ctx)
    r = client.get("/record?entry=99")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "there is no entry 99" in text_of(r.text, "entry-error")
    assert "0 to 2" in text_of(r.text, "entry-error")
    assert text_of(r.text, "checkpoint-size") == "3"  # the rest of the page still renders
    identity.admit_member(ctx, SYSTEM, "es", "Spain")
    r = client.get("/record?entry=3")
    assert r.status_code == 404
    assert "after the latest checkpoint" in text_of(r.text, "entry-error")
    r = client.get("/record?entry=abc")
    assert r.status_code == 422
    assert "not an entry number" in text_of(r.text, "entry-error")
    r = client.get("/record", params={"leaf_hash": base64.b64encode(b"x" * 32).decode()})
    assert r.status_code == 404
    assert "no entry with leaf hash" in text_of(r.text, "entry-error")


def test_server_check_catches_a_tampered_entry(ctx: ServiceContext, client: TestClient) -> None:
    populate(ctx)
    with ctx.db.transaction() as conn:
        conn.execute(t.events.update().where(t.events.c.seq == 1).values(entry="forged"))
    assert not check_entry(ctx, index=1).verified
    r = client.get("/record?entry=1")
    assert "Proof NOT verified" in r.text
    assert "the entry hashes to" in r.text


def test_witnesses_show_who_cosigned_the_latest_checkpoint(
    ctx: ServiceContext, client: TestClient
) -> None:
    populate(ctx)
    keys = {
        m: note.generate_signer(f"witness.{m}.example", note.ALG_COSIGNATURE_V1) for m in MEMBERS
    }
    ids = {
        m: witnesses.register_witness(ctx, SYSTEM, f"W {m}", keys[m].verifier_key, m).witness_id
        for m in ("de", "fr")
    }
    cp, _ = checkpoints.issue_checkpoint(ctx, SYSTEM)  # covers the registrations too
    body, _ = note.split_note(cp.note)
    witnesses.add_cosignature(ctx, cp.size, note.cosign_checkpoint(body, keys["de"], 1_780_000_000))
    page = client.get("/record").text
    assert "<caption" in page and 'id="witnesses"' in page
    rows = dict(re.findall(r'data-witness="([^"]+)">(.*?)</tr>', page, flags=re.S))
    assert set(rows) == set(ids.values())
    assert "Germany" in rows[ids["de"]] and keys["de"].verifier_key in rows[ids["de"]]
    assert "yes (signature verifies" in rows[ids["de"]]
    assert re.search(r'class="cosigned">no<', rows[ids["fr"]])
