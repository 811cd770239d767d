"""GPU training throughput of the reference recipe: a ~1B-parameter Llama in bf16 on one GPU.

    cd repo && PYTHONPATH=src python3 bench/gpu_train.py --json          # one GPU, < 8 minutes
    PYTHONPATH=src python3 bench/gpu_train.py --smoke --json             # tiny model, CPU

Needs only torch, transformers and numpy (no other pnyx dependency, no network). It trains the
recipe's own model (``pnyx.training.model.build_model``) with the recipe's own step
(``pnyx.training.engine.train_step``: fused AdamW, grad clipping, LR schedule) on random tokens,
for several configurations in turn, each in a child process with its own time budget (a hang,
a crash or an out-of-memory error moves on to the next), and prints one JSON object:

- ``device``, ``peak_flops`` (dense bf16: 989.4e12 for H100 SXM and H200), versions;
- ``configs``: per configuration its settings, parameter count, ``tokens_per_s`` (tokens of a
  step / median step time), ``mfu`` = (6 N + 12 L H Q T) x tokens/s / peak (N without the input
  embedding), ``step_s`` (median, p10, p90 of the timed steps), ``warmup_s`` (includes
  torch.compile), peak memory, first/last loss, or ``error``;
- ``best``: the configuration with the highest MFU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

# Configurations tried in order (the most promising first). "precision": bf16 keeps parameters,
# gradients and AdamW state in bf16; bf16-mixed keeps fp32 parameters under bf16 autocast.
GPU_CONFIGS: list[dict[str, Any]] = [
    {"name": "bf16-compile-b8-s2048", "preset": "1b", "seq_len": 2048, "micro_batch": 8,
     "precision": "bf16", "compile": True, "budget_s": 130},
    {"name": "bf16-compile-b4-s4096", "preset": "1b", "seq_len": 4096, "micro_batch": 4,
     "precision": "bf16", "compile": True, "budget_s": 120},
    {"name": "mixed-compile-b8-s2048", "preset": "1b", "seq_len": 2048, "micro_batch": 8,
     "precision": "bf16-mixed", "compile": True, "budget_s": 120},
    {"name": "bf16-compile-b16-s2048", "preset": "1b", "seq_len": 2048, "micro_batch": 16,
     "precision": "bf16", "compile": True, "budget_s": 120},
    {"name": "mixed-compile-b4-s4096", "preset": "1b", "seq_len": 4096, "micro_batch": 4,
     "precision": "bf16-mixed", "compile": True, "budget_s": 120},
    {"name": "bf16-eager-b8-s2048", "preset": "1b", "seq_len": 2048, "micro_batch": 8,
     "precision": "bf16", "compile": False, "budget_s": 60},
]  # fmt: skip

SMOKE_CONFIGS: list[dict[str, Any]] = [
    {"name": "smoke-fp32-eager", "preset": "tiny", "seq_len": 64, "micro_batch": 2,
     "precision": "fp32", "compile": False, "budget_s": 60},
    {"name": "smoke-mixed-eager", "preset": "tiny", "seq_len": 64, "micro_batch": 2,
     "precision": "bf16-mixed", "compile": False, "budget_s": 60},
]  # fmt: skip


def run_one(cfg: dict[str, Any], *, warmup: int, steps: int, measure_s: float) -> dict[str, Any]:
    """Train ``cfg`` for ``warmup`` + up to ``steps`` steps; the figures of the timed steps."""
    import torch

    from pnyx.training import engine
    from pnyx.training import model as tm

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    mc = tm.preset(cfg["preset"], max_seq_len=max(cfg["seq_len"], 128))
    t0 = time.perf_counter()
    model = tm.build_model(mc, device=device, dtype=engine.param_dtype(cfg["precision"]), seed=0)
    model.train()
    n_params = tm.count_params(model)
    n_flop = tm.flop_params(model)
    build_s = time.perf_counter() - t0
    if cfg["compile"]:
        engine.compile_blocks(model)
    oc = engine.OptimConfig(lr=3e-4, warmup_steps=10)
    opt = engine.make_optimizer(model, oc, device)
    batches = engine.random_batches(mc.vocab_size, cfg["micro_batch"], cfg["seq_len"], 1, device)
    tokens_step = cfg["micro_batch"] * cfg["seq_len"] * cfg.get("grad_accum", 1)

    def step(i: int) -> float:
        loss = engine.train_step(
            model,
            opt,
            next(batches),
            lr=engine.lr_at(i, warmup + steps, oc),
            precision=cfg["precision"],
            grad_clip=oc.grad_clip,
        )
        return float(loss.item())  # synchronises

    t0 = time.perf_counter()
    losses = [step(i) for i in range(warmup)]
    warmup_s = time.perf_counter() - t0
    times: list[float] = []
    t_start = time.perf_counter()
    for i in range(steps):
        t = time.perf_counter()
        losses.append(step(warmup + i))
        times.append(time.perf_counter() - t)
        if time.perf_counter() - t_start > measure_s and len(times) >= 3:
            break
    med = statistics.median(times)
    tps = tokens_step / med
    fpt = tm.flops_per_token(n_flop, mc, cfg["seq_len"])
    peak = tm.peak_flops(device)
    qs = statistics.quantiles(times, n=10) if len(times) >= 2 else [med] * 9
    return {
        **cfg,
        "params": n_params,
        "flop_params": n_flop,
        "model": {
            "hidden": mc.hidden_size,
            "layers": mc.num_layers,
            "heads": mc.num_heads,
            "kv_heads": mc.num_kv_heads,
            "intermediate": mc.intermediate_size,
            "vocab": mc.vocab_size,
        },
        "tokens_per_step": tokens_step,
        "flops_per_token": fpt,
        "build_s": round(build_s, 2),
        "warmup_steps": warmup,
        "warmup_s": round(warmup_s, 2),
        "timed_steps": len(times),
        "step_s": {"median": med, "p10": qs[0], "p90": qs[-1]},
        "tokens_per_s": tps,
        "tflops_per_s": tps * fpt / 1e12,
        "mfu": tm.mfu(tps, fpt, peak),
        "max_memory_gib": (torch.cuda.max_memory_allocated() / 2**30) if cuda else None,
        "loss_first": losses[0],
        "loss_last": losses[-1],
    }


def child_main(args: argparse.Namespace) -> int:
    cfg = json.loads(args.one)
    try:
        out = run_one(cfg, warmup=args.warmup, steps=args.steps, measure_s=args.measure_s)
    except Exception as e:  # OOM and compile errors are reported, not raised
        out = {**cfg, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}
    print("RESULT " + json.dumps(out), flush=True)
    return 0


def device_info() -> dict[str, Any]:
    import torch
    import transformers

    from pnyx.training import model as tm

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda": torch.cuda.is_available(),
    }
    if torch.cuda.is_available():
        info["device"] = torch.cuda.get_device_name(0)
        info["memory_gib"] = torch.cuda.get_device_properties(0).total_memory / 2**30
        info["peak_flops"] = tm.peak_flops("cuda:0")
    else:
        info["device"] = f"cpu ({os.cpu_count()} cores)"
        info["peak_flops"] = None
    return info


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print only the JSON object")
    p.add_argument("--smoke", action="store_true", help="tiny model (CPU test of the script)")
    p.add_argument("--budget", type=float, default=None, help="total seconds (default 450)")
    p.add_argument("--configs", default="", help="comma-separated names to run (default all)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps (default 6)")
    p.add_argument("--steps", type=int, default=None, help="max timed steps (default 30)")
    p.add_argument("--measure-s", type=float, default=None, help="timed seconds per config")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    smoke = args.smoke
    args.warmup = args.warmup if args.warmup is not None else (2 if smoke else 6)
    args.steps = args.steps if args.steps is not None else (5 if smoke else 30)
    args.measure_s = args.measure_s if args.measure_s is not None else (5.0 if smoke else 25.0)
    if args.one is not None:
        return child_main(args)

    budget = args.budget if args.budget is not None else (120.0 if smoke else 450.0)
    configs = SMOKE_CONFIGS if smoke else GPU_CONFIGS
    if args.configs:
        wanted = args.configs.split(",")
        configs = [c for c in configs if c["name"] in wanted]
    t_begin = time.monotonic()
    result: dict[str, Any] = {"bench": "gpu_train", **device_info(), "budget_s": budget}
    results: list[dict[str, Any]] = []
    for cfg in configs:
        left = budget - (time.monotonic() - t_begin)
        if left < 20:
            results.append({**cfg, "error": "skipped: total budget spent"})
            continue
        limit = min(float(cfg["budget_s"]), left)
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--one",
            json.dumps(cfg),
            "--warmup",
            str(args.warmup),
            "--steps",
            str(args.steps),
            "--measure-s",
            str(min(args.measure_s, limit / 4)),
        ]
        if not args.json:
            print(f"running {cfg['name']} (limit {limit:.0f} s)", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, check=False)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if lines:
                res = json.loads(lines[-1][len("RESULT ") :])
            else:
                tail = (proc.stderr or "").strip().splitlines()[-3:]
                res = {**cfg, "error": f"exit {proc.returncode}: {' | '.join(tail)[:400]}"}
        except subprocess.TimeoutExpired:
            res = {**cfg, "error": f"timed out after {limit:.0f} s"}
        res["wall_s"] = round(time.monotonic() - t0, 1)
        results.append(res)
        if not args.json:
            print(json.dumps(res), file=sys.stderr, flush=True)
    result["configs"] = results
    ok = [r for r in results if r.get("mfu") is not None or r.get("tokens_per_s")]
    best = max(ok, key=lambda r: (r.get("mfu") or 0.0, r.get("tokens_per_s", 0.0)), default=None)
    result["best"] = (
        None
        if best is None
        else {k: best.get(k) for k in ("name", "tokens_per_s", "mfu", "tflops_per_s", "params")}
    )
    result["wall_s"] = round(time.monotonic() - t_begin, 1)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
