"""CPU cost of the recipe's provenance capture: the recipe vs a plain PyTorch loop.

    .venv/bin/python bench/train_overhead.py [--preset tiny] [--steps 10] [--rounds 6]

In one process, on the same model (same seed), the same packed batches and the same batch size:

- ``plain``: a bare loop over pre-made token tensors: forward with labels, backward, gradient
  clipping, AdamW step (no data loading, no files);
- ``recipe``: ``pnyx.training.run.Trainer`` on a real dataset version in an artifact store: it
  packs the batches from the verified shards, writes the order file line and the metrics line
  of every step (``log_every`` 1) and the run manifest.

Each round runs both, alternating which goes first; ``ratio`` is the median over rounds of
(median recipe tokens/s / median plain tokens/s) in that round, so load drift between rounds
cancels out (``overhead`` = 1 - ratio; target <= 0.05); the pooled medians are printed too.
``cpu_time_ratio``: the same comparison in process CPU seconds (plain loop / recipe ``train()``,
which also counts the recipe's final checkpoint, model export and run manifest), less
sensitive to other processes on a shared machine. Setup
(shard verification, tokenizer training, model build) and the final checkpoint are reported
apart (``recipe_setup_s``) and not counted in the per-step figures. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.manifest import manifest_bytes
from pnyx.data.shards import TextRecord, write_text_shard
from pnyx.training import engine
from pnyx.training import model as tm
from pnyx.training.config import parse_config
from pnyx.training.run import Dist, Trainer

_TEXT = (
    "open models trained on open data with a record of every document seen at every step "
    "the council decides awards the facility runs jobs def return class import for in if"
)
WORDS = _TEXT.split()


def make_dataset(root: Path, n_docs: int, seed: int = 0) -> str:
    """A synthetic text dataset version (``n_docs`` documents, 8 shards)."""
    rng = random.Random(seed)
    docs = [
        TextRecord.of(f"d{i}", " ".join(rng.choice(WORDS) for _ in range(rng.randint(50, 400))),
                      "synthetic")
        for i in range(n_docs)
    ]  # fmt: skip
    store = ArtifactStore(root)
    shards = []
    per = max(1, n_docs // 8)
    for i in range(0, n_docs, per):
        data = write_text_shard(docs[i : i + per])
        shards.append({"sha256": store.put_bytes(data), "bytes": len(data),
                       "records": len(docs[i : i + per]), "format": "jsonl"})  # fmt: skip
    manifest = {"dataset": "bench-text", "version": 1, "modality": "text", "license": "CC0-1.0",
                "source": "synthetic", "parent": None, "shards": shards, "records": n_docs,
                "bytes": sum(s["bytes"] for s in shards), "tokens": {}, "metadata": {},
                "removed": []}  # fmt: skip
    return store.put_bytes(manifest_bytes(manifest))


def plain_round(trainer: Trainer, steps: int, seed: int) -> tuple[list[float], float]:
    """Per-step tokens/s of a bare loop on the recipe's own batches (made up front), and the
    loop's CPU seconds."""
    cfg = trainer.cfg
    lay = trainer.layout
    batches = [
        [trainer.packer.batch(lay.micro_samples(s, m, 0))[0] for m in range(lay.grad_accum)]
        for s in range(steps)
    ]
    model = tm.build_model(cfg.model, seed=seed, eos_token_id=2)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr, betas=(0.9, 0.95))
    model.train()
    tokens = lay.global_batch * cfg.data.seq_len
    out = []
    cpu0 = time.process_time()
    for micro in batches:
        t = time.perf_counter()
        for ids in micro:
            loss = model(input_ids=ids, labels=ids).loss / len(micro)
            loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        float(loss.item())
        out.append(tokens / (time.perf_counter() - t))
    return out, time.process_time() - cpu0


def provenance_seconds(trainer: Trainer, steps: int) -> float:
    """Median seconds per step the recipe spends on its data side: packing the step's batch
    from the verified corpus, computing and writing its order-file line and a metrics line."""
    times = []
    sink = trainer.out / "sink.jsonl"
    with sink.open("w", encoding="utf-8") as f:
        for s in range(steps):
            t = time.perf_counter()
            _batches, line = trainer._step_batches(s)
            f.write(line or "")
            f.write(json.dumps({"step": s, "loss": 1.0, "lr": 0.1, "tokens_per_s": 1.0}) + "\n")
            f.flush()
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def recipe_round(raw: dict[str, Any], out: Path) -> tuple[list[float], float, float]:
    """Per-step tokens/s of the recipe (from its metrics.jsonl), setup seconds, and the CPU
    seconds of ``train()`` (all steps plus the final checkpoint, model export and manifest)."""
    t0 = time.perf_counter()
    trainer = Trainer(parse_config(raw, env={}), out, Dist())
    setup = time.perf_counter() - t0
    cpu0 = time.process_time()
    trainer.train()
    total = time.process_time() - cpu0
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return [r["tokens_per_s"] for r in rows], setup, total


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="tiny")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--micro-batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--docs", type=int, default=400)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "artifacts"
        sha = make_dataset(root, args.docs)
        raw = {
            "model": {"preset": args.preset, "max_seq_len": max(args.seq_len, 128)},
            "data": {"artifact_root": str(root), "datasets": [{"manifest": sha}],
                     "seq_len": args.seq_len},
            "tokenizer": {"vocab_size": 1024},
            "train": {"steps": args.steps, "micro_batch": args.micro_batch, "seed": 0,
                      "threads": args.threads, "log_every": 1, "checkpoint_every": 0},
        }  # fmt: skip
        plain: list[float] = []
        recipe: list[float] = []
        ratios: list[float] = []
        cpu_ratios: list[float] = []
        setups: list[float] = []
        reference = Trainer(parse_config(raw, env={}), Path(tmp) / "ref", Dist())
        for r in range(args.rounds):
            # paired rounds, alternating which goes first, so load drift cancels out
            order = ("recipe", "plain") if r % 2 == 0 else ("plain", "recipe")
            got: dict[str, list[float]] = {}
            cpu: dict[str, float] = {}
            for which in order:
                if which == "recipe":
                    steps, setup, cpu["recipe"] = recipe_round(raw, Path(tmp) / f"run{r}")
                    got["recipe"] = steps[1:]  # the first step warms allocator and caches
                    setups.append(setup)
                else:
                    per_step, cpu["plain"] = plain_round(reference, args.steps, seed=0)
                    got["plain"] = per_step[1:]
            cpu_ratios.append(cpu["plain"] / cpu["recipe"])
            recipe += got["recipe"]
            plain += got["plain"]
            ratios.append(statistics.median(got["recipe"]) / statistics.median(got["plain"]))
        mc = reference.cfg.model
        capture = provenance_seconds(reference, args.steps)
    med_plain, med_recipe = statistics.median(plain), statistics.median(recipe)
    result = {
        "bench": "train_overhead",
        "machine": f"{platform.machine()} {platform.processor()}".strip(),
        "torch": torch.__version__,
        "threads": args.threads,
        "preset": args.preset,
        "params": tm.count_params(tm.build_model(mc, seed=0)),
        "seq_len": args.seq_len,
        "micro_batch": args.micro_batch,
        "steps_per_round": args.steps,
        "rounds": args.rounds,
        "plain_tokens_per_s": med_plain,
        "recipe_tokens_per_s": med_recipe,
        "ratio": statistics.median(ratios),
        "overhead": 1.0 - statistics.median(ratios),
        "round_ratios": [round(x, 4) for x in ratios],
        "cpu_time_ratio": statistics.median(cpu_ratios),
        "cpu_time_round_ratios": [round(x, 4) for x in cpu_ratios],
        "target_overhead": 0.05,
        "recipe_setup_s": statistics.median(setups),
        "data_and_provenance_s_per_step": capture,
        "data_and_provenance_share": capture * med_plain / (args.micro_batch * args.seq_len),
        "precision": engine.PRECISIONS[0],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
