"""Recount from the public record: matches for the demo, catches tampered ballots; the API."""

from __future__ import annotations

import json

import pytest
from council_setup import OPERATOR, build_council, event_count
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from pnyx.api.app import create_app
from pnyx.cli.main import app as cli
from pnyx.services import identity
from pnyx.services.context import ServiceContext
from pnyx.services.council_verify import ALL, recount
from pnyx.services.demo_council import run_council_demo
from pnyx.services.entrycheck import EntryBatch
from pnyx.services.logsources import DbLogSource
from pnyx.services.verify import verify_log
from pnyx.settings import Settings
from pnyx.store import tables as t
from pnyx.store.replay import check_replay


def recount_db(ctx: ServiceContext, rid: str):  # type: ignore[no-untyped-def]
    return recount(DbLogSource(ctx.db).entries(0, ALL), rid)


def test_demo_resolutions_recount_as_recorded(ctx: ServiceContext) -> None:
    summary = run_council_demo(ctx)
    outcomes = [(r["status"], r["decided_by"]) for r in summary["resolutions"]]
    assert outcomes == [
        ("passed", "majority:weight:population"),
        ("failed", "majority:weight:population"),
        ("passed", "majority:weight:population"),
    ]
    split = summary["enacted_shares"]["members"]["open-models"]
    assert split["de"] == pytest.approx(0.24) and sum(split.values()) == pytest.approx(1)
    for r in summary["resolutions"]:
        report = recount_db(ctx, r["id"])
        assert report.ok, report.error
        assert report.ballots == 9
    assert check_replay(ctx.db).ok


def test_ledger_verify_replays_the_council_views(ctx: ServiceContext) -> None:
    run_council_demo(ctx)
    assert ctx.log_signer is not None
    report = verify_log(DbLogSource(ctx.db, ctx.log_signer.verifier))
    assert report.ok, report.error
    assert {"resolutions", "shares"} <= set(report.replayed_views)


def tamper_first_ballot(ctx: ServiceContext, rid: str) -> int:
    """Flip the choice of the first stored ballot entry of ``rid``; returns its seq."""
    with ctx.db.transaction() as conn:
        rows = conn.execute(
            select(t.events.c.seq, t.events.c.entry).where(t.events.c.kind == "council.ballot_cast")
        ).all()
        seq, entry = next((s, e) for s, e in rows if json.loads(e)["body"]["resolution_id"] == rid)
        obj = json.loads(entry)
        obj["body"]["choice"] = "no" if obj["body"]["choice"] == "yes" else "yes"
        new = json.dumps(obj, separators=(",", ":"), sort_keys=True)
        conn.execute(update(t.events).where(t.events.c.seq == seq).values(entry=new))
    return int(seq)


def test_tampered_ballot_is_detected(ctx: ServiceContext) -> None:
    run_council_demo(ctx)
    seq = tamper_first_ballot(ctx, "res-0001")
    report = recount_db(ctx, "res-0001")
    assert not report.ok
    assert report.error is not None and f"seq {seq}" in report.error
    assert "bad signature" in report.error
    assert recount_db(ctx, "res-0002").ok  # the other resolution is untouched


def test_ballot_recorded_after_the_close_is_detected(ctx: ServiceContext) -> None:
    run_council_demo(ctx)
    batches = list(DbLogSource(ctx.db).entries(0, ALL))
    entries = [e for b in batches for e in b.entries]
    ballot = next(
        json.loads(e)
        for e in entries
        if b'"council.ballot_cast"' in e and json.loads(e)["body"]["resolution_id"] == "res-0001"
    )
    ballot["seq"] = len(entries)
    late = EntryBatch(len(entries), [json.dumps(ballot).encode()])
    report = recount([*batches, late], "res-0001")
    assert not report.ok
    assert report.error == f"ballot at seq {len(entries)} was recorded after the close"


def test_altered_recorded_tally_is_detected(ctx: ServiceContext) -> None:
    run_council_demo(ctx)
    with ctx.db.transaction() as conn:
        seq, entry = conn.execute(
            select(t.events.c.seq, t.events.c.entry).where(
                t.events.c.kind == "council.resolution_closed"
            )
        ).first()  # type: ignore[misc]
        obj = json.loads(entry)
        obj["body"]["tally"]["counts"]["yes"] += 1
        conn.execute(update(t.events).where(t.events.c.seq == seq).values(entry=json.dumps(obj)))
    report = recount_db(ctx, "res-0001")
    assert not report.ok
    assert report.error is not None and "tally.counts.yes" in report.error


def test_cli_list_and_verify_exit_codes(ctx: ServiceContext) -> None:
    run_council_demo(ctx)
    runner = CliRunner()
    listed = runner.invoke(cli, ["council", "list", "--db", ctx.db.url, "--json"])
    assert listed.exit_code == 0, listed.output
    assert [r["status"] for r in json.loads(listed.stdout)] == ["passed", "failed", "passed"]
    ok = runner.invoke(cli, ["council", "verify", "res-0002", "--db", ctx.db.url])
    assert ok.exit_code == 0, ok.output
    tamper_first_ballot(ctx, "res-0002")
    bad = runner.invoke(cli, ["council", "verify", "res-0002", "--db", ctx.db.url])
    assert bad.exit_code == 1
    assert "MISMATCH" in bad.stdout


# --- the API ------------------------------------------------------------------------------------


@pytest.fixture
def client(ctx: ServiceContext) -> TestClient:
    return TestClient(create_app(Settings(), ctx=ctx))


def token_for(ctx: ServiceContext, pid: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {identity.issue_token(ctx, OPERATOR, pid).token}"}


def test_api_bad_bodies_are_422_and_write_nothing(client: TestClient, ctx: ServiceContext) -> None:
    c = build_council(ctx)
    headers = token_for(ctx, "de-delegate")
    rid = c.propose().resolution_id
    before = event_count(ctx)
    bad_bodies = [
        ("/api/v1/council/resolutions", {"kind": "set-programme-shares", "title": "t"}),
        (
            "/api/v1/council/resolutions",
            {"kind": "nope", "payload": {}, "title": "t", "voting_s": 60},
        ),
        (
            f"/api/v1/council/resolutions/{rid}/ballots",
            {"member": "de", "choice": "maybe", "cast_at": ctx.now(), "signature": "AA=="},
        ),
        (f"/api/v1/council/resolutions/{rid}/ballots", {"member": "de", "bogus": 1}),
    ]
    for path, body in bad_bodies:
        resp = client.post(path, json=body, headers=headers)
        assert resp.status_code == 422, (path, resp.text)
    assert event_count(ctx) == before


def test_api_signed_ballot_by_its_delegate_then_list(
    client: TestClient, ctx: ServiceContext
) -> None:
    c = build_council(ctx)
    rid = c.propose().resolution_id
    ballot = c.signed(rid, "de", "yes")
    body = {
        "member": "de",
        "choice": "yes",
        "cast_at": ballot.body.cast_at,
        "signature": ballot.signature,
    }
    path = f"/api/v1/council/resolutions/{rid}/ballots"
    assert client.post(path, json=body).status_code == 403  # anonymous
    wrong = client.post(path, json=body, headers=token_for(ctx, "fr-delegate"))
    assert wrong.status_code == 403
    resp = client.post(path, json=body, headers=token_for(ctx, "de-delegate"))
    assert resp.status_code == 201, resp.text
    assert resp.json()["principal_id"] == "de-delegate"
    detail = client.get(f"/api/v1/council/resolutions/{rid}").json()
    assert [b["member_id"] for b in detail["ballots"]] == ["de"]
    assert detail["live_tally"]["counts"]["yes"] == 1
    assert client.get("/api/v1/council/resolutions").json()[0]["status"] == "open"
