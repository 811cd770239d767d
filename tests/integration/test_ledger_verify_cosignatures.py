"""`verify` checks every stored witness cosignature against the key registered on the record,
and the latest checkpoint against the witnesses a caller requires (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from pnyx.api.app import create_app
from pnyx.cli.main import app
from pnyx.domain.identity import Actor, MemberAdmitted
from pnyx.ledger import note
from pnyx.services import checkpoints, witnesses
from pnyx.services.context import ServiceContext
from pnyx.services.logsources import DbLogSource, HttpLogSource
from pnyx.services.record import record
from pnyx.services.verify import VerifyReport, WitnessPolicy, verify_log
from pnyx.settings import Settings
from pnyx.store import tables as t
from pnyx.store import tables_ledger as tl

SYSTEM = Actor.system()
NOW_S = 1_780_000_000


@pytest.fixture
def keys() -> dict[str, note.Signer]:
    return {
        c: note.generate_signer(f"witness.{c}.example", note.ALG_COSIGNATURE_V1)
        for c in ("de", "fr", "it")
    }


def append(ctx: ServiceContext, count: int) -> None:
    with ctx.db.read() as conn:
        first = int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)
    events = [MemberAdmitted(f"m{i}", f"M {i}") for i in range(first, first + count)]
    with ctx.db.transaction() as conn:
        record(conn, ctx, SYSTEM, events)


def cosign(ctx: ServiceContext, size: int, key: note.Signer) -> None:
    with ctx.db.read() as conn:
        stmt = select(tl.checkpoints.c.note).where(tl.checkpoints.c.size == size)
        body, _ = note.split_note(conn.execute(stmt).scalar_one())
    witnesses.add_cosignature(ctx, size, note.cosign_checkpoint(body, key, NOW_S))


@dataclass(frozen=True)
class Cosigned:
    ids: dict[str, str]  # country -> witness id
    first: int  # checkpoint sizes
    latest: int


@pytest.fixture
def cosigned(ctx: ServiceContext, keys: dict[str, note.Signer]) -> Cosigned:
    """Three witnesses on the record; de cosigns two checkpoints, fr the latest, it none."""
    ids = {
        c: witnesses.register_witness(ctx, SYSTEM, c, k.verifier_key).witness_id
        for c, k in keys.items()
    }
    append(ctx, 3)
    first = checkpoints.issue_checkpoint(ctx, SYSTEM)[0].size
    append(ctx, 4)
    latest = checkpoints.issue_checkpoint(ctx, SYSTEM)[0].size
    cosign(ctx, first, keys["de"])
    cosign(ctx, latest, keys["de"])
    cosign(ctx, latest, keys["fr"])
    return Cosigned(ids, first, latest)


def run(ctx: ServiceContext, policy: WitnessPolicy | None = None) -> VerifyReport:
    assert ctx.log_signer is not None
    return verify_log(DbLogSource(ctx.db, ctx.log_signer.verifier), replay=False, policy=policy)


def test_every_cosignature_is_checked_and_the_latest_cosigners_reported(
    ctx: ServiceContext, keys: dict[str, note.Signer], cosigned: Cosigned
) -> None:
    ids = cosigned.ids
    chosen = (keys["de"].verifier, keys["fr"].verifier)
    report = run(ctx, WitnessPolicy(chosen, 2))
    assert report.ok, report.error
    assert report.cosignatures == 3
    assert report.latest_cosigners == sorted([ids["de"], ids["fr"]])
    assert run(ctx, WitnessPolicy((), 2)).ok  # any two witnesses on the record


def test_a_tampered_cosignature_names_checkpoint_and_witness(
    ctx: ServiceContext, keys: dict[str, note.Signer], cosigned: Cosigned
) -> None:
    ids = cosigned.ids
    first = cosigned.first
    with ctx.db.transaction() as conn:
        row = tl.cosignatures.c
        line = conn.execute(select(row.line).where(row.witness_id == ids["de"])).scalars().first()
        assert line is not None
        name, encoded = line.removesuffix("\n").rsplit(" ", 1)
        raw = bytearray(base64.b64decode(encoded))
        raw[-1] ^= 1  # one bit of the Ed25519 signature
        bad = f"{name} {base64.b64encode(bytes(raw)).decode()}\n"
        conn.execute(update(tl.cosignatures).where(row.line == line).values(line=bad))
    report = run(ctx)
    expected = (
        f"checkpoint at size {first}: cosignature of witness {ids['de']} "
        f"({keys['de'].verifier_key}): "
    )
    assert report.error is not None and report.error.startswith(expected), report.error


def test_the_key_on_the_record_counts_not_the_witnesses_table(
    ctx: ServiceContext, keys: dict[str, note.Signer], cosigned: Cosigned
) -> None:
    """An operator who swaps a witness's key in the projection and cosigns with the new key
    is caught: the registration event still holds the original key."""
    ids = cosigned.ids
    latest = cosigned.latest
    forged = note.generate_signer(keys["it"].name, note.ALG_COSIGNATURE_V1)
    with ctx.db.transaction() as conn:
        w = tl.witnesses.c
        stmt = update(tl.witnesses).where(w.witness_id == ids["it"])
        conn.execute(stmt.values(verifier_key=forged.verifier_key, key_id=forged.key_id.hex()))
    cosign(ctx, latest, forged)  # the service accepts it: it trusts its projection
    report = run(ctx)
    assert report.error is not None
    assert report.error.startswith(
        f"checkpoint at size {latest}: cosignature of witness {ids['it']} "
        f"({keys['it'].verifier_key}): cosignature is from "
    ), report.error


def test_a_required_witness_that_did_not_cosign_fails_naming_it(
    ctx: ServiceContext, keys: dict[str, note.Signer], cosigned: Cosigned
) -> None:
    latest = cosigned.latest
    chosen = (keys["de"].verifier, keys["it"].verifier)
    report = run(ctx, WitnessPolicy(chosen, 2))
    assert report.error == (
        f"checkpoint at size {latest}: valid cosignatures from 1 of the required witnesses, "
        f"need 2; not cosigned by {keys['it'].verifier_key}"
    )
    assert run(ctx, WitnessPolicy(chosen, 1)).ok
    too_many = run(ctx, WitnessPolicy((), 3))
    assert too_many.error == f"checkpoint at size {latest}: valid cosignatures from 2, need 3"


def test_a_cosignature_of_a_witness_not_on_the_record_fails(
    ctx: ServiceContext, cosigned: Cosigned
) -> None:
    first = cosigned.first
    with ctx.db.transaction() as conn:
        row = tl.cosignatures.c
        stmt = update(tl.cosignatures).where(row.witness_id == cosigned.ids["de"])
        conn.execute(stmt.values(witness_id="w-00000000"))
    assert run(ctx).error == (
        f"checkpoint at size {first}: cosignature of witness w-00000000: "
        "the witness is not registered on the record"
    )


def test_over_http_the_cosignatures_come_from_the_api(
    ctx: ServiceContext, keys: dict[str, note.Signer], cosigned: Cosigned
) -> None:
    assert ctx.log_signer is not None
    with TestClient(create_app(Settings(), ctx=ctx)) as client:
        page = client.get("/api/v1/log/cosignatures", params={"limit": 2}).json()
        assert page["total"] == 3 and len(page["items"]) == 2
        source = HttpLogSource("http://testserver", ctx.log_signer.verifier)
        source.client = client  # type: ignore[assignment]
        assert [(c.size, c.witness_id) for c in source.cosignatures()] == [
            (cosigned.first, cosigned.ids["de"]),
            *sorted((cosigned.latest, cosigned.ids[c]) for c in ("de", "fr")),
        ]
        chosen = (keys["fr"].verifier,)
        report = verify_log(source, replay=False, policy=WitnessPolicy(chosen, 1))
        assert report.ok, report.error
        assert report.cosignatures == 3


def test_cli_witness_options(
    ctx: ServiceContext, keys: dict[str, note.Signer], cosigned: Cosigned, tmp_path: Path
) -> None:
    assert ctx.log_signer is not None
    key_file = tmp_path / "log.pub"
    key_file.write_text(ctx.log_signer.verifier_key + "\n")
    base = ["ledger", "verify", "--db", ctx.db.url, "--key", str(key_file), "--no-replay"]
    runner = CliRunner()
    good = runner.invoke(app, [*base, "--witness", keys["fr"].verifier_key, "--json"])
    assert good.exit_code == 0, good.output
    out = json.loads(good.stdout)
    assert (out["ok"], out["cosignatures"]) == (True, 3)
    need = [*base, "--witness", keys["it"].verifier_key, "--witness", keys["de"].verifier_key]
    bad = runner.invoke(app, need)
    assert bad.exit_code == 1
    assert f"not cosigned by {keys['it'].verifier_key}" in bad.stderr
    some = runner.invoke(app, [*need, "--min-cosignatures", "1"])
    assert some.exit_code == 0, some.output
    wrong_type = runner.invoke(app, [*base, "--witness", ctx.log_signer.verifier_key])
    assert wrong_type.exit_code != 0
