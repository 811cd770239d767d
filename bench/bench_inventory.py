"""Benchmark: load examples/facility-100k.yaml into a fresh SQLite store.

    python bench/bench_inventory.py [--runs 3] [--file examples/facility-100k.yaml]

Each run starts from an empty store with the hosting members admitted, then times
``parse_facility_file`` + ``load_facility`` (events, ledger and projections in one transaction).
The parse alone is the baseline, timed in the same process; ``cli_s_median`` times the whole
``pnyx facility load`` command in a subprocess (interpreter start and imports included). Prints
JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pnyx.domain.identity import Actor
from pnyx.domain.inventory_parse import parse_facility
from pnyx.services import identity
from pnyx.services import inventory as svc
from pnyx.services.context import ServiceContext
from pnyx.services.events import event_count
from pnyx.store.db import Database, url_for_data_dir
from pnyx.store.replay import check_replay
from pnyx.store.schema import migrate

ROOT = Path(__file__).resolve().parents[1]
OPERATOR = Actor.system()


def fresh_store(data_dir: Path, members: list[str]) -> ServiceContext:
    db = Database(url_for_data_dir(data_dir))
    migrate(db)
    ctx = ServiceContext(db=db)
    for member in members:
        identity.admit_member(ctx, OPERATOR, member, member.upper())
    return ctx


def time_load(path: Path, members: list[str]) -> tuple[float, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = fresh_store(Path(tmp), members)
        start = time.perf_counter()
        result = svc.load_facility(ctx, OPERATOR, svc.parse_facility_file(path))
        elapsed = time.perf_counter() - start
        replay_ok = check_replay(ctx.db).ok
        out = result.model_dump() | {"events_in_log": event_count(ctx), "replay_ok": replay_ok}
        ctx.db.dispose()
    return elapsed, out


def time_parse(path: Path) -> float:
    start = time.perf_counter()
    parse_facility(svc.parse_facility_file(path))
    return time.perf_counter() - start


def time_cli(path: Path, members: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        fresh_store(Path(tmp), members).db.dispose()
        cmd = [sys.executable, "-m", "pnyx.cli", "facility", "load", str(path), "--data", tmp]
        start = time.perf_counter()
        subprocess.run([*cmd, "--json"], check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--file", type=Path, default=ROOT / "examples" / "facility-100k.yaml")
    args = parser.parse_args()
    members = sorted(
        {s.host_member for s in parse_facility(svc.parse_facility_file(args.file)).sites}
    )
    loads, result = [], {}
    for _ in range(args.runs):
        elapsed, result = time_load(args.file, members)
        loads.append(elapsed)
    parses = [time_parse(args.file) for _ in range(args.runs)]
    clis = [time_cli(args.file, members) for _ in range(args.runs)]
    load_s, parse_s = statistics.median(loads), statistics.median(parses)
    report = {
        "file": str(args.file.relative_to(ROOT) if args.file.is_relative_to(ROOT) else args.file),
        "runs": args.runs,
        "load_s_median": round(load_s, 4),
        "load_s": [round(x, 4) for x in loads],
        "parse_s_median": round(parse_s, 4),
        "load_over_parse": round(load_s / parse_s, 1),
        "cli_s_median": round(statistics.median(clis), 4),
        "events": result["events"],
        "replay_ok": result["replay_ok"],
        "sites": result["sites"],
        "clusters": result["clusters"],
        "pods": result["pods"],
        "nodes": result["nodes"],
        "accelerators": result["accelerators"],
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
