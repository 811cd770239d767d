"""Ledger benchmark: append throughput, proof latency and `verify` time, SQLite and PostgreSQL.

    python bench/bench_ledger.py [--pg URL] [--entries N] [--single N] [--proofs N]

Builds an N-entry log (default 1,000,000) with ``append_events`` in batches of 1,000 events per
transaction (a signed checkpoint per batch, as ``record`` would issue with the default
interval), on a fresh SQLite file and, when a PostgreSQL URL is given (``--pg`` or
PNYX_TEST_PG_URL), in a fresh schema. Then, per database:

- ``append``: events/s over the whole build, and per-batch transaction time p50/p99;
- ``baseline``: the same entry rows hashed with raw SHA-256 and inserted with a plain
  executemany (no canonical encoding, no tree, no checkpoint), batches of 1,000, in the same
  process; ``append_vs_baseline`` is the ratio of the two times (the figure that counts);
- ``single_event_tx_ms``: one event per transaction on the N-entry log, p50/p99;
- ``inclusion_proof_ms`` / ``consistency_proof_ms``: proofs at size N for random indexes / old
  sizes through ``services.ledger.prove_inclusion`` / ``prove_consistency`` (what the API
  routes call: one read each, with the leaf and roots), p50/p99, and ``*_in_open_tx_ms`` the
  tree's own queries all inside one open read transaction; baseline ``point_read_ms``: one
  stored node by primary key in its own read transaction;
- ``verify_s``: ``verify_log`` without replay over the whole log (recompute every leaf and the
  tree, check every checkpoint's signature and root, the store's consistency proofs); baseline
  ``verify_baseline_read_and_hash_s``: read every entry and SHA-256 it, nothing else.

Prints one JSON object. Results go to docs/benchmarks.md ("Ledger").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import secrets
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text

from pnyx.domain.events import Event
from pnyx.domain.identity import MemberAdmitted, PrincipalCreated
from pnyx.ledger import note
from pnyx.services import ledger
from pnyx.services.checkpoints import checkpoint_if_due
from pnyx.services.context import ServiceContext
from pnyx.services.logsources import DbLogSource
from pnyx.services.verify import verify_log
from pnyx.store import tables as t
from pnyx.store import tree
from pnyx.store.db import Database, url_for_data_dir
from pnyx.store.eventstore import append_events, leaf_key
from pnyx.store.schema import migrate

BATCH = 1000
AT = "2026-11-26T12:00:00.000000Z"
ACTOR = "system"


def events_for(start: int, count: int) -> list[Event]:
    """Small realistic events: members admitted and principals created, alternating."""
    out: list[Event] = []
    for n in range(start, start + count):
        if n % 2:
            out.append(PrincipalCreated(f"p{n:08d}", f"Person {n}", ["researcher"], None))
        else:
            out.append(MemberAdmitted(f"m{n:08d}", f"Member state {n}"))
    return out


def quantiles_ms(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50": round(statistics.median(ordered) * 1e3, 3), "p99": round(p99 * 1e3, 3)}


# --- databases -----------------------------------------------------------------------------------


@contextmanager
def sqlite_db(root: Path, name: str) -> Iterator[Database]:
    db = Database(url_for_data_dir(root / name))
    migrate(db)
    try:
        yield db
    finally:
        db.dispose()


@contextmanager
def pg_db(base: str) -> Iterator[Database]:
    schema = "bench_" + secrets.token_hex(4)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    db = Database(f"{base}{sep}options=-csearch_path%3D{schema}")
    try:
        migrate(db)
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# --- measurements --------------------------------------------------------------------------------


def build_log(ctx: ServiceContext, entries: int) -> dict[str, Any]:
    """Append ``entries`` events in batches of BATCH per transaction; time each transaction."""
    times: list[float] = []
    for start in range(0, entries, BATCH):
        batch = events_for(start, min(BATCH, entries - start))
        began = time.perf_counter()
        with ctx.db.transaction() as conn:
            append_events(conn, batch, actor=ACTOR, at=AT)
            checkpoint_if_due(conn, ctx)
        times.append(time.perf_counter() - began)
    total = sum(times)
    return {
        "events": entries,
        "events_per_s": round(entries / total),
        "batch_tx_ms": quantiles_ms(times),
    }


def baseline(source: Database, target: Database, entries: int) -> dict[str, Any]:
    """SHA-256 the same entry rows and insert them with a plain executemany, no tree."""
    columns = [c for c in t.events.c if c.name not in ("leaf_hash", "leaf_key")]
    times: list[float] = []
    for start in range(0, entries, BATCH):
        with source.read() as conn:
            stmt = select(*columns).where(t.events.c.seq >= start, t.events.c.seq < start + BATCH)
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        began = time.perf_counter()
        sha256 = hashlib.sha256
        for row in rows:
            row["leaf_hash"] = sha256(b"\x00" + row["entry"].encode()).digest()
            row["leaf_key"] = leaf_key(row["seq"], row["leaf_hash"])
        with target.transaction() as conn:
            conn.execute(t.events.insert(), rows)
        times.append(time.perf_counter() - began)
    total = sum(times)
    return {"events_per_s": round(entries / total), "batch_tx_ms": quantiles_ms(times)}


def single_event_latency(ctx: ServiceContext, count: int, first: int) -> dict[str, float]:
    times: list[float] = []
    for n in range(first, first + count):
        event = events_for(n, 1)
        began = time.perf_counter()
        with ctx.db.transaction() as conn:
            append_events(conn, event, actor=ACTOR, at=AT)
        times.append(time.perf_counter() - began)
    return quantiles_ms(times)


def proof_latency(ctx: ServiceContext, size: int, count: int) -> dict[str, dict[str, float]]:
    """Proofs at ``size`` through the services the API routes call (``prove_inclusion``,
    ``prove_consistency``: one read each, as a request gets it), and the tree's own cost inside
    one open read transaction; baseline: one stored node by primary key in its own read."""
    db = ctx.db

    def timed(prove: Callable[[Any, int], object], low: int, shared: bool) -> dict[str, float]:
        samples: list[float] = []
        with db.read() as open_conn:
            for _ in range(count):
                arg = low + secrets.randbelow(size - low)
                began = time.perf_counter()
                if shared:
                    prove(open_conn, arg)
                else:
                    prove(None, arg)
                samples.append(time.perf_counter() - began)
        return quantiles_ms(samples)

    def inclusion(_conn: Any, index: int) -> object:
        return ledger.prove_inclusion(ctx, index=index, size=size)

    def consistency(_conn: Any, old: int) -> object:
        return ledger.prove_consistency(ctx, old, size)

    def tree_inclusion(conn: Any, index: int) -> object:
        return tree.inclusion_with_root(conn, index, size)

    def tree_consistency(conn: Any, old: int) -> object:
        return tree.consistency_with_roots(conn, old, size)

    def point_read(_conn: Any, index: int) -> object:
        with db.read() as conn:
            return tree.fetch_nodes(conn, [(2, index // 4)])

    return {
        "point_read_ms": timed(point_read, 0, shared=False),
        "inclusion_proof_ms": timed(inclusion, 0, shared=False),
        "consistency_proof_ms": timed(consistency, 1, shared=False),
        "inclusion_proof_in_open_tx_ms": timed(tree_inclusion, 0, shared=True),
        "consistency_proof_in_open_tx_ms": timed(tree_consistency, 1, shared=True),
    }


def verify_timings(db: Database, verifier: note.Verifier) -> dict[str, Any]:
    """``verify_log`` without replay; baseline: read every entry and SHA-256 it, nothing else."""
    source = DbLogSource(db, verifier)
    began = time.perf_counter()
    sha256 = hashlib.sha256
    for batch in source.entries(0, source.snapshot(()).size):
        for data in batch.entries:
            sha256(b"\x00" + data).digest()
    read_and_hash_s = time.perf_counter() - began
    began = time.perf_counter()
    report = verify_log(source, replay=False)
    verify_s = time.perf_counter() - began
    return {
        "verify_s": round(verify_s, 2),
        "verify_ok": report.ok,
        "verify_checkpoints": report.checkpoints,
        "verify_baseline_read_and_hash_s": round(read_and_hash_s, 2),
        "verify_vs_baseline": round(verify_s / read_and_hash_s, 2),
    }


def bench_database(
    name: str, open_db: Callable[[str], Any], entries: int, single: int, proofs: int
) -> dict[str, Any]:
    signer = note.generate_signer("bench.pnyx.example/log")
    with open_db("log") as db, open_db("baseline") as base:
        ctx = ServiceContext(db=db, log_signer=signer, checkpoint_every_events=BATCH)
        result: dict[str, Any] = {"database": name}
        result["append"] = build_log(ctx, entries)
        result["baseline"] = baseline(db, base, entries)
        result["append_vs_baseline"] = round(
            result["baseline"]["events_per_s"] / result["append"]["events_per_s"], 2
        )
        result.update(proof_latency(ctx, entries, proofs))
        result.update(verify_timings(db, signer.verifier))
        result["single_event_tx_ms"] = single_event_latency(ctx, single, entries)
        return result


def machine() -> dict[str, Any]:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    models = [ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if "Model name" in ln]
    return {
        "nproc": os.cpu_count(),
        "cpu": models[0] if models else "",
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get("PNYX_TEST_PG_URL"), help="PostgreSQL URL")
    parser.add_argument("--entries", type=int, default=1_000_000, help="log size")
    parser.add_argument("--single", type=int, default=300, help="single-event transactions")
    parser.add_argument("--proofs", type=int, default=2000, help="proofs of each kind")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {"machine": machine(), "entries": args.entries, "batch": BATCH}
    out["load_average_start"] = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="pnyx-bench-") as tmp:
        if not args.skip_sqlite:
            out["sqlite"] = bench_database(
                "sqlite",
                lambda name: sqlite_db(Path(tmp), name),
                args.entries,
                args.single,
                args.proofs,
            )
    if args.pg:
        out["postgresql"] = bench_database(
            "postgresql", lambda _name: pg_db(args.pg), args.entries, args.single, args.proofs
        )
    out["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
