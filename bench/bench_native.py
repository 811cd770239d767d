"""The native build (mypyc, ``make native``) against the interpreted sources, same workload.

    python bench/bench_native.py [--start 2017-11-20] [--end 2017-11-21] [--load 1.0]
                                 [--accelerators 100000] [--tick-s 60] [--policy pnyx]
                                 [--rounds 3] [--tmp DIR]

Prints one JSON object. Copies this checkout's sources twice into a temporary directory
(without compiled modules), makes the native build in one of them (what ``make native``
runs), then simulates the same workload (``pnyx sim run`` on philly.csv) in both copies,
alternating interpreted / native ``--rounds`` times, so that both see the same machine load.
For each build: each round's CPU seconds of the child process (user + system, from
``getrusage``), its wall seconds and the simulator's own ``wall_s`` and ``jobs_per_s``, and
their medians; the ratios of the median CPU seconds (whole process: start-up, trace
loading and metrics included) and of the median engine seconds (the simulation); whether
every round's per-segment job file was byte-identical to the first interpreted one (the
decisions); the native build's own time; the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pnyx.native import build_in_place, copy_source_tree

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT / "examples" / "traces" / "philly.csv"
CLI = "import sys; from pnyx.cli.main import app; app(sys.argv[1:], prog_name='pnyx')"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--start", default="2017-11-20")
    p.add_argument("--end", default="2017-11-21")
    p.add_argument("--load", type=float, default=1.0)
    p.add_argument("--accelerators", type=int, default=100_000)
    p.add_argument("--tick-s", type=float, default=60.0)
    p.add_argument("--policy", default="pnyx")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tmp", type=Path, default=None, help="where the copies go")
    args = p.parse_args()
    if args.rounds < 1:
        p.error("--rounds must be >= 1")
    return args


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def simulate(src: Path, args: argparse.Namespace, jobs_out: Path) -> dict[str, Any]:
    """One ``pnyx sim run`` in the copy at ``src``: its JSON, CPU and wall seconds."""
    command = [sys.executable, "-c", CLI, "sim", "run", "--trace", str(TRACE), "--json"]
    command += ["--accelerators", str(args.accelerators), "--policy", args.policy]
    command += ["--start", args.start, "--end", args.end, "--load", str(args.load)]
    command += ["--tick-s", str(args.tick_s), "--jobs-out", str(jobs_out)]
    env = {**os.environ, "PYTHONPATH": str(src)}
    cpu0, wall0 = children_cpu_s(), time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    cpu, wall = children_cpu_s() - cpu0, time.perf_counter() - wall0
    if done.returncode != 0:
        raise SystemExit(f"pnyx sim run failed in {src}:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return {"result": result, "cpu_s": cpu, "wall_s": wall}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "cpu_s": [round(r["cpu_s"], 2) for r in runs],
        "wall_s": [round(r["wall_s"], 2) for r in runs],
        "engine_wall_s": [round(r["result"]["wall_s"], 2) for r in runs],
        "median_cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "median_engine_wall_s": statistics.median(r["result"]["wall_s"] for r in runs),
        "median_engine_jobs_per_s": statistics.median(r["result"]["jobs_per_s"] for r in runs),
        "build": runs[0]["result"]["build"],
    }


def main() -> None:
    args = parse_args()
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        work = Path(tmp)
        plain_src = copy_source_tree(ROOT, work / "plain")
        native_src = copy_source_tree(ROOT, work / "native")
        t0 = time.perf_counter()
        built = build_in_place(native_src.parent)
        build_s = time.perf_counter() - t0
        if built.returncode != 0:
            raise SystemExit(f"the native build failed:\n{built.stderr[-3000:]}")
        runs: dict[str, list[dict[str, Any]]] = {"interpreted": [], "native": []}
        reference = work / "reference.jsonl"
        identical = True
        for r in range(args.rounds):
            for name, src in (("interpreted", plain_src), ("native", native_src)):
                out = reference if not runs["interpreted"] else work / f"{name}-{r}.jsonl"
                runs[name].append(simulate(src, args, out))
                identical &= out == reference or out.read_bytes() == reference.read_bytes()
        first = runs["interpreted"][0]["result"]
    plain, native = summary(runs["interpreted"]), summary(runs["native"])
    print(
        json.dumps(
            {
                "workload": {
                    "start": args.start,
                    "end": args.end,
                    "load": args.load,
                    "accelerators": args.accelerators,
                    "tick_s": args.tick_s,
                    "policy": args.policy,
                    "jobs": first["jobs"],
                },
                "interpreted": plain,
                "native": native,
                "cpu_ratio": plain["median_cpu_s"] / native["median_cpu_s"],
                "engine_wall_ratio": plain["median_engine_wall_s"] / native["median_engine_wall_s"],
                "identical_decisions": identical,
                "native_build_s": round(build_s, 1),
                "rounds": args.rounds,
                "load_average": {"start": list(load_start), "end": list(os.getloadavg())},
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
