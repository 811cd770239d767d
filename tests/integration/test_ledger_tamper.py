"""`verify_log` / `pnyx ledger verify` against tampered stores (SQLite and PostgreSQL).

Each case builds a log of a few hundred events with checkpoints every 40 events, checks that it
verifies, tampers with ONE thing the way an operator with database access could, and checks that
verification fails and names the place: the entry index, the checkpoint size or the view.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from pnyx_server import Server, cli_env
from sqlalchemy import select, update
from typer.testing import CliRunner

from pnyx.cli.main import app
from pnyx.domain import identity as d
from pnyx.domain.events import Event, canonical_json
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.ledger import note
from pnyx.ledger.merkle import leaf_hash
from pnyx.services import identity, inventory
from pnyx.services.context import ServiceContext
from pnyx.services.logsources import DbLogSource
from pnyx.services.record import record
from pnyx.services.verify import PUBLIC_VIEWS, VerifyReport, verify_log
from pnyx.store import tables as t
from pnyx.store import tables_ledger as tl
from pnyx.store.db import Database, url_for_data_dir

SYSTEM = Actor.system()
ALL_VIEWS = [view.name for view in PUBLIC_VIEWS]
EVERY = 40
FACILITY = Path(__file__).resolve().parents[2] / "examples" / "facility-small.yaml"


def build_log(ctx: ServiceContext, people: int = 80) -> int:
    """Members, a facility, principals and tokens (private fields); returns the log size.

    The services record the first events; the rest go through the same write path (record)
    twenty people per transaction, so the fixture stays fast on a slow disk.
    """
    ctx.checkpoint_every_events = EVERY
    identity.admit_member(ctx, SYSTEM, "de", "Germany")
    inventory.load_facility(ctx, SYSTEM, inventory.parse_facility_file(FACILITY))
    identity.create_principal(ctx, SYSTEM, NewPrincipal("ops", "Ops", frozenset({Role.OPERATOR})))
    identity.issue_token(ctx, SYSTEM, "ops")
    for first in range(0, people, 20):
        with ctx.db.transaction() as conn:
            for i in range(first, min(first + 20, people)):
                for event in person_events(i):
                    record(conn, ctx, SYSTEM, [event])
    with ctx.db.read() as conn:
        return int(conn.execute(select(t.log_state.c.size)).scalar_one())


def person_events(i: int) -> list[Event]:
    pid = f"p{i:03d}"
    return [
        d.MemberAdmitted(member_id=f"m{i:03d}", name=f"Member {i}"),
        d.PrincipalCreated(
            principal_id=pid, name=f"Person {i}", roles=["researcher"], member_id=None
        ),
        d.TokenIssued(
            token_id=f"t{i:03d}", principal_id=pid, label="cli", token_hash=d.hash_token(pid)
        ),
    ]


def verify(ctx: ServiceContext, replay: bool = True) -> VerifyReport:
    assert ctx.log_signer is not None
    return verify_log(DbLogSource(ctx.db, ctx.log_signer.verifier), replay=replay)


def failed(ctx: ServiceContext, replay: bool = True) -> str:
    report = verify(ctx, replay)
    assert not report.ok, "tampering went unnoticed"
    assert report.error is not None
    return report.error


def entry_of(ctx: ServiceContext, seq: int) -> str:
    with ctx.db.read() as conn:
        return str(conn.execute(select(t.events.c.entry).where(t.events.c.seq == seq)).scalar_one())


def set_entry(ctx: ServiceContext, seq: int, **values: object) -> None:
    with ctx.db.transaction() as conn:
        conn.execute(update(t.events).where(t.events.c.seq == seq).values(**values))


def checkpoint_sizes(ctx: ServiceContext) -> list[int]:
    with ctx.db.read() as conn:
        stmt = select(tl.checkpoints.c.size).order_by(tl.checkpoints.c.size)
        return [int(size) for size in conn.execute(stmt).scalars()]


def member_seq(ctx: ServiceContext, member_id: str) -> int:
    with ctx.db.read() as conn:
        stmt = select(t.members.c.admitted_seq).where(t.members.c.member_id == member_id)
        return int(conn.execute(stmt).scalar_one())


@pytest.fixture
def log(ctx: ServiceContext) -> ServiceContext:
    size = build_log(ctx)
    assert size > 200
    report = verify(ctx)
    assert report.ok, report.error
    assert report.entries == size
    assert report.checkpoints == len(checkpoint_sizes(ctx)) >= size // EVERY - 1
    assert report.replayed_views == ALL_VIEWS
    return ctx


def test_untampered_log_verifies_without_replay_too(log: ServiceContext) -> None:
    report = verify(log, replay=False)
    assert report.ok, report.error
    assert report.replayed_views == []
    assert report.root_hash is not None


def test_altered_event_body_names_the_entry(log: ServiceContext) -> None:
    seq = member_seq(log, "m007")
    entry = json.loads(entry_of(log, seq))
    entry["body"]["name"] = "Tampered"
    set_entry(log, seq, entry=canonical_json(entry).decode())
    assert failed(log).startswith(f"entry {seq}: leaf hash ")


def test_altered_body_with_its_leaf_hash_fails_at_the_next_checkpoint(log: ServiceContext) -> None:
    seq = member_seq(log, "m007")
    entry = json.loads(entry_of(log, seq))
    entry["body"]["name"] = "Tampered"
    data = canonical_json(entry)
    set_entry(log, seq, entry=data.decode(), leaf_hash=leaf_hash(data))
    next_checkpoint = min(s for s in checkpoint_sizes(log) if s > seq)
    error = failed(log)
    assert error.startswith(f"checkpoint at size {next_checkpoint}: root "), error
    assert "!= recomputed" in error


def test_non_canonical_entry_names_the_entry(log: ServiceContext) -> None:
    set_entry(log, 12, entry=entry_of(log, 12).replace(",", ", ", 1))
    assert failed(log, replay=False) == (
        "entry 12: not canonical JSON (it does not re-encode to the same bytes)"
    )


def test_deleted_entry_names_the_index(log: ServiceContext) -> None:
    seq = member_seq(log, "m020")
    with log.db.transaction() as conn:
        conn.execute(t.events.delete().where(t.events.c.seq == seq))
    assert failed(log) == f"entry {seq}: seq {seq + 1} != index {seq}"


def test_deleted_tail_is_caught_by_the_checkpoints(log: ServiceContext) -> None:
    last = checkpoint_sizes(log)[-1]
    with log.db.transaction() as conn:
        conn.execute(t.event_private.delete().where(t.event_private.c.seq >= last - 5))
        conn.execute(t.events.delete().where(t.events.c.seq >= last - 5))
        conn.execute(update(t.log_state).values(size=last - 5))
    assert failed(log) == f"checkpoint at size {last}: beyond the log's {last - 5} entries"


def test_reordered_entries_name_the_first(log: ServiceContext) -> None:
    a, b = member_seq(log, "m030"), member_seq(log, "m031")
    entry_a, entry_b = entry_of(log, a), entry_of(log, b)
    set_entry(log, a, entry=entry_b)
    set_entry(log, b, entry=entry_a)
    assert failed(log) == f"entry {a}: seq {b} != index {a}"


def test_checkpoint_signed_by_another_key_names_the_checkpoint(log: ServiceContext) -> None:
    assert log.log_signer is not None
    forger = note.generate_signer(log.log_signer.name)
    second = checkpoint_sizes(log)[1]
    with log.db.transaction() as conn:
        stored = conn.execute(
            select(tl.checkpoints.c.note).where(tl.checkpoints.c.size == second)
        ).scalar_one()
        text, _ = note.split_note(stored)
        forged = note.sign_note(text, [forger])
        conn.execute(
            update(tl.checkpoints).where(tl.checkpoints.c.size == second).values(note=forged)
        )
    error = failed(log, replay=False)
    assert error.startswith(f"checkpoint at size {second}: note is not signed by any known key")


def test_checkpoint_signature_bytes_replaced_names_the_checkpoint(log: ServiceContext) -> None:
    """The key id of the log key, but the signature of another key."""
    assert log.log_signer is not None
    forger = note.generate_signer(log.log_signer.name)
    first = checkpoint_sizes(log)[0]
    with log.db.transaction() as conn:
        stored = conn.execute(
            select(tl.checkpoints.c.note).where(tl.checkpoints.c.size == first)
        ).scalar_one()
        text, _ = note.split_note(stored)
        line = note.NoteSignature(forger.name, log.log_signer.key_id, forger.sign(text.encode()))
        conn.execute(
            update(tl.checkpoints)
            .where(tl.checkpoints.c.size == first)
            .values(note=text + "\n" + line.render())
        )
    error = failed(log, replay=False)
    assert error.startswith(f"checkpoint at size {first}: invalid signature from key ")


def test_altered_projection_row_names_the_view(log: ServiceContext) -> None:
    with log.db.transaction() as conn:
        conn.execute(
            update(t.members).where(t.members.c.member_id == "m005").values(name="Tampered")
        )
    assert verify(log, replay=False).ok  # the record itself is intact
    error = failed(log)
    assert error.startswith("view members: replayed != reported: items[")
    assert error.endswith(".name: 'Member 5' != 'Tampered'")


def test_parallel_entry_checks_report_the_same_first_failure(log: ServiceContext) -> None:
    assert log.log_signer is not None
    source = DbLogSource(log.db, log.log_signer.verifier, batch=37)  # many small batches
    report = verify_log(source, replay=False, workers=2)
    assert report.ok, report.error
    assert report.root_hash == verify(log, replay=False).root_hash
    first, later = member_seq(log, "m040"), member_seq(log, "m070")
    for seq in (later, first):  # two bad entries: the lower index must be the one reported
        set_entry(log, seq, entry=entry_of(log, seq).replace(",", ", ", 1))
    report = verify_log(source, replay=False, workers=2)
    assert (
        report.error
        == f"entry {first}: not canonical JSON (it does not re-encode to the same bytes)"
    )


# --- the command line ----------------------------------------------------------------------------


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run `pnyx ARGS` in this process; returns the result (exit code, stdout, stderr)."""
    return CliRunner(env=env).invoke(app, list(args))


def populate(data: Path) -> None:
    """A small facility through the command line, with a checkpoint every 3 events."""
    store = ["--data", str(data)]
    env = {"PNYX_CHECKPOINT_EVERY_EVENTS": "3"}
    steps = [
        ["member", "admit", "de", "--name", "Germany"],
        ["facility", "load", str(FACILITY)],
        ["principal", "create", "ops", "--role", "operator", "--name", "Ops", "--token"],
        *(["member", "admit", f"m{i}", "--name", f"Member {i}"] for i in range(6)),
        ["ledger", "checkpoint"],
    ]
    for step in steps:
        result = cli(*step, *store, env=env)
        assert result.exit_code == 0, (step, result.output)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    populate(data)
    return data


def test_cli_verify_exit_codes(data_dir: Path) -> None:
    ok = cli("ledger", "verify", "--data", str(data_dir), "--json")
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.stdout)
    assert report["ok"] and report["checkpoints"] >= 3 and report["error"] is None
    db = Database(url_for_data_dir(data_dir))
    with db.transaction() as conn:
        second = conn.execute(select(t.events.c.entry).where(t.events.c.seq == 2)).scalar_one()
        conn.execute(update(t.events).where(t.events.c.seq == 1).values(entry=second))
    db.dispose()
    bad = cli("ledger", "verify", "--data", str(data_dir))
    assert bad.exit_code == 1
    assert "entry 1: seq 2 != index 1" in bad.stderr


def test_cli_verify_refuses_a_missing_store(tmp_path: Path) -> None:
    result = cli("ledger", "verify", "--data", str(tmp_path / "nothing"))
    assert result.exit_code == 1
    assert not (tmp_path / "nothing").exists()


@pytest.mark.slow
def test_url_round_trip_through_a_real_server(data_dir: Path, tmp_path: Path) -> None:
    server = Server(["--data", str(data_dir)], cli_env(), tmp_path / "server.log")
    try:
        known = ["--known-keys", str(tmp_path / "known_logs")]
        remote = cli("ledger", "verify", "--url", server.url, *known, "--json")
        assert remote.exit_code == 0, remote.output
        report = json.loads(remote.stdout)
        assert report["ok"] and report["error"] is None
        served = report["log_key"]
        assert report["log_key_trust"] == (
            f"log key taken from the server (trust on first use): {served}"
        )
        again = cli("ledger", "verify", "--url", server.url, *known, "--no-replay")
        assert again.exit_code == 0, again.output
        assert f"matches the one pinned in {tmp_path / 'known_logs'}" in again.stdout
        other = note.generate_signer(served.split("+")[0]).verifier_key
        (tmp_path / "other_known").write_text(f"{server.url} {other}\n")
        swapped = cli(
            "ledger", "verify", "--url", server.url, "--known-keys", str(tmp_path / "other_known")
        )
        assert swapped.exit_code == 1
        assert served in swapped.stderr and other in swapped.stderr
        assert report["replayed_views"] == ALL_VIEWS
        assert report["checkpoints"] >= 3
        local = json.loads(cli("ledger", "verify", "--data", str(data_dir), "--json").stdout)
        assert (report["root_hash"], report["entries"]) == (local["root_hash"], local["entries"])
        db = Database(url_for_data_dir(data_dir))
        with db.transaction() as conn:
            conn.execute(update(t.members).where(t.members.c.member_id == "m3").values(name="X"))
        db.dispose()
        bad = cli("ledger", "verify", "--url", server.url, *known)
        assert bad.exit_code == 1
        assert "view members: replayed != reported" in bad.stderr
    finally:
        server.stop()
