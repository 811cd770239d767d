"""How long `pnyx council preview` takes: static arithmetic, simulated (cold), simulated (cached).

    python bench/bench_council_preview.py [--repeat 3] [--accelerators 128] [--load 1.5]

Builds the Council demo (9 members, 3 resolutions) in a temporary SQLite store and previews
res-0003 (open-models split by contribution) with the default workload (philly.csv, jobs
submitted 2017-11-14, load 1.5 on 128 accelerators). Prints one JSON object: the settings,
the machine, and per mode the median seconds over ``--repeat`` runs (the cold runs clear the
in-memory cache first; the baseline is the static arithmetic in the same process), plus the
simulated figures of de (the member whose share grows most) so runs can be compared.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pnyx.services import council_preview
from pnyx.services.context import ServiceContext
from pnyx.services.council_preview import PreviewSettings, preview_resolution
from pnyx.services.demo_council import run_council_demo
from pnyx.store.db import Database
from pnyx.store.schema import migrate


def timed(fn: Callable[[], Any], repeat: int, before: Callable[[], None] | None = None) -> float:
    """Median wall seconds of ``fn`` over ``repeat`` runs (``before`` runs untimed first)."""
    samples = []
    for _ in range(repeat):
        if before:
            before()
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return round(statistics.median(samples), 4)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--accelerators", type=int, default=128)
    parser.add_argument("--load", type=float, default=1.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(db)
        ctx = ServiceContext(db=db)
        run_council_demo(ctx)
        settings = PreviewSettings(accelerators=args.accelerators, load=args.load)
        rid = "res-0003"
        static = timed(lambda: preview_resolution(ctx, rid, settings, False), args.repeat)
        cold = timed(
            lambda: preview_resolution(ctx, rid, settings),
            args.repeat,
            council_preview._cache.clear,
        )
        cached = timed(lambda: preview_resolution(ctx, rid, settings), args.repeat)
        out = preview_resolution(ctx, rid, settings)["simulated"]
        db.dispose()
    de = out["members"]["de"]
    print(
        json.dumps(
            {
                "settings": settings.to_json(),
                "jobs": out["jobs"],
                "machine": f"{platform.machine()} {platform.python_version()}",
                "median_s": {"static": static, "simulated_cold": cold, "simulated_cached": cached},
                "cold_over_static": round(cold / static, 1) if static else None,
                "de": {k: de[k] for k in ("enacted_share", "delivered_share", "mean_wait_s")},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
