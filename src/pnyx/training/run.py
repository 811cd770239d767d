"""The recipe's entry point: ``python -m pnyx.training.run --config FILE --out DIR``.

Works alone or under ``torchrun`` (gloo on CPU, NCCL on GPU; DDP or FSDP2). In ``--out`` it
writes ``tokenizer/``, ``order.jsonl`` (the order file), ``metrics.jsonl`` (one line per logged
step: step, loss, lr, tokens_per_s, mfu, tokens, elapsed_s), ``checkpoints/step-N/``, the final
Hugging Face model in ``model/`` and ``run_manifest.json``. When ``--out`` already holds a
checkpoint the run resumes from the newest one (same config required) and reproduces, on CPU,
the loss sequence of an uninterrupted run bit for bit. ``--stop-after K`` stops after step K
with a checkpoint (what a preempted job leaves behind).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import torch
import torch.distributed as dist
from torch import nn

from pnyx.errors import InvalidInputError, PnyxError
from pnyx.training import checkpoint as ckpt
from pnyx.training import engine, provenance
from pnyx.training import model as tm
from pnyx.training.config import RunConfig, load_config
from pnyx.training.data import (
    Corpus,
    Layout,
    Packer,
    file_sha256,
    load_corpus,
    order_header,
    order_line,
    truncate_order,
)
from pnyx.training.tokenizer import load_tokenizer, save_tokenizer, special_ids, train_bpe


@dataclass
class Dist:
    """This process's place in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        """Whether this is rank 0 (the one that writes files)."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every rank (no-op alone)."""
        if self.world_size > 1:
            dist.barrier()


def setup_dist(device_pref: str) -> Dist:
    """Join the torchrun process group when there is one; choose the device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device_pref == "auto" else device_pref == "cuda"
    device = torch.device(f"cuda:{local}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    under_torchrun = "RANK" in os.environ and "MASTER_ADDR" in os.environ
    if (world > 1 or under_torchrun) and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Dist(rank, world, local, device)


def _tokenizer_dir(cfg: RunConfig, out: Path, corpus: Corpus, d: Dist) -> tuple[Path, str]:
    target = out / "tokenizer"
    source = cfg.tokenizer.path or "trained"
    if d.main and not (target / "tokenizer.json").is_file():
        if cfg.tokenizer.path:
            src = Path(cfg.tokenizer.path)
            src = src if src.is_dir() else src.parent
            save_tokenizer(load_tokenizer(src), target, cfg.data.seq_len)
            for name in ("tokenizer_config.json", "special_tokens_map.json"):
                if (src / name).is_file():
                    shutil.copyfile(src / name, target / name)
        else:
            tok = train_bpe(corpus.texts, cfg.tokenizer.vocab_size, cfg.tokenizer.min_frequency)
            save_tokenizer(tok, target, cfg.model.max_seq_len)
    d.barrier()
    return target, source


def _wrap(model: nn.Module, cfg: RunConfig, d: Dist, precision: str) -> tuple[nn.Module, str]:
    if cfg.train.compile:
        engine.compile_blocks(model)
    parallel = cfg.train.parallel
    if parallel == "auto":
        parallel = "ddp" if d.world_size > 1 else "none"
    if parallel == "ddp" and d.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        ids = [d.local_rank] if d.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids), "ddp"
    if parallel == "fsdp":
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        if not dist.is_initialized():
            raise InvalidInputError("train.parallel fsdp needs torchrun (a process group)")
        mp = MixedPrecisionPolicy(
            param_dtype=torch.bfloat16 if precision == "bf16-mixed" else None,
            reduce_dtype=torch.float32,
        )
        for layer in model.model.layers:  # type: ignore[union-attr]
            fully_shard(layer, mp_policy=mp)
        fully_shard(model, mp_policy=mp)
        return model, "fsdp"
    return model, "none"


class Trainer:
    """One run: set up from a config and an output folder, then :meth:`train`."""

    def __init__(self, cfg: RunConfig, out: Path, d: Dist) -> None:
        self.cfg, self.out, self.d = cfg, Path(out), d
        self.t_start = time.time()
        t = cfg.train
        if t.threads > 0:
            torch.set_num_threads(t.threads)
        self.precision = t.precision
        if self.precision == "auto":
            self.precision = "bf16-mixed" if d.device.type == "cuda" else "fp32"
        if d.main:
            self.out.mkdir(parents=True, exist_ok=True)
        d.barrier()
        self.corpus = load_corpus(cfg.data)  # verifies every shard's hash
        self.tok_dir, self.tok_source = _tokenizer_dir(cfg, self.out, self.corpus, d)
        tok = load_tokenizer(self.tok_dir)
        if tok.get_vocab_size() > cfg.model.vocab_size:
            raise InvalidInputError(
                f"tokenizer has {tok.get_vocab_size()} tokens, more than model.vocab_size "
                f"{cfg.model.vocab_size}"
            )
        _pad, bos, eos = special_ids(tok)
        self.layout = Layout(t.micro_batch, t.grad_accum, d.world_size)
        self.packer = Packer(self.corpus, tok, cfg.data.seq_len, t.seed, eos)
        raw = tm.build_model(
            cfg.model,
            device=d.device,
            dtype=engine.param_dtype(self.precision),
            seed=t.seed,
            bos_token_id=bos,
            eos_token_id=eos,
        )
        self.hf_config = raw.config
        self.n_params = tm.count_params(raw)
        self.fpt = tm.flops_per_token(tm.flop_params(raw), cfg.model, cfg.data.seq_len)
        self.peak = t.peak_flops or tm.peak_flops(d.device)
        self.model, self.parallel = _wrap(raw, cfg, d, self.precision)
        self.optimizer = engine.make_optimizer(self.model, cfg.optim, d.device)
        self.step = 0
        self.tokens = 0
        self.elapsed = 0.0
        self.resumed_at: list[int] = []
        self.last_loss: float | None = None
        self.ckpt_root = self.out / "checkpoints"
        self.order_path = self.out / "order.jsonl"
        self.metrics_path = self.out / "metrics.jsonl"
        self._resume()

    # --- resume ---------------------------------------------------------------------------

    def _resume(self) -> None:
        found = ckpt.latest(self.ckpt_root)
        if found is None:
            if self.d.main:
                header = order_header(
                    self.corpus.datasets, self.cfg.data.seq_len, self.layout, self.cfg.train.seed
                )
                self.order_path.write_text(header, encoding="utf-8")
                self.metrics_path.write_text("", encoding="utf-8")
            return
        recorded = json.loads((found / "training_config.json").read_text(encoding="utf-8"))
        if _comparable(recorded) != _comparable(self.cfg.resolved()):
            raise InvalidInputError(
                f"{self.out} holds a checkpoint of a different training config; "
                "use a new --out folder"
            )
        state = ckpt.load_checkpoint(found, self.model, self.optimizer)
        self.step = int(state["step"])
        self.tokens = int(state["tokens"])
        self.elapsed = float(state["elapsed_s"])
        self.resumed_at = [*state.get("resumed_at", []), self.step]
        self.last_loss = state.get("loss")
        if self.d.main:
            truncate_order(self.order_path, self.step)
            _truncate_metrics(self.metrics_path, self.step)
        self.d.barrier()

    # --- the loop -------------------------------------------------------------------------

    def _step_batches(self, step: int) -> tuple[list[torch.Tensor], str | None]:
        lay, d = self.layout, self.d
        mine = [
            self.packer.batch(lay.micro_samples(step, m, d.rank))[0].to(d.device)
            for m in range(lay.grad_accum)
        ]
        line = None
        if d.main:  # provenance: every sequence of the global batch, in sample order
            pieces = [self.packer.sample(g)[1] for g in lay.step_samples(step)]
            epoch = lay.step_samples(step)[0] // self.packer.samples_per_epoch
            line = order_line(step + 1, epoch, pieces)
        return mine, line

    def train(self, stop_after: int | None = None) -> dict[str, Any]:
        """Run to ``train.steps`` (or ``stop_after``); returns the final run manifest."""
        t, d = self.cfg.train, self.d
        end = t.steps if stop_after is None else min(t.steps, stop_after)
        tokens_step = self.layout.global_batch * self.cfg.data.seq_len
        self._write_manifest("running")
        with ExitStack() as stack:
            order: IO[str] | None = None
            metrics: IO[str] | None = None
            if d.main:
                order = stack.enter_context(self.order_path.open("a", encoding="utf-8"))
                metrics = stack.enter_context(self.metrics_path.open("a", encoding="utf-8"))
            self.model.train()
            t_mark, tokens_mark = time.perf_counter(), self.tokens
            while self.step < end:
                batches, line = self._step_batches(self.step)
                lr = engine.lr_at(self.step, t.steps, self.cfg.optim)
                loss = engine.train_step(
                    self.model,
                    self.optimizer,
                    batches,
                    lr=lr,
                    precision=self.precision,
                    grad_clip=self.cfg.optim.grad_clip,
                    no_sync=self.parallel == "ddp",
                )
                self.step += 1
                self.tokens += tokens_step
                if order is not None and line is not None:
                    order.write(line)
                last = self.step == end
                if self.step % max(1, t.log_every) == 0 or last:
                    self.last_loss = self._global_loss(loss)
                    now = time.perf_counter()
                    dt = now - t_mark
                    self.elapsed += dt
                    tps = (self.tokens - tokens_mark) / dt if dt > 0 else 0.0
                    if metrics is not None:
                        row = {
                            "step": self.step,
                            "loss": self.last_loss,
                            "lr": lr,
                            "tokens_per_s": tps,
                            "mfu": tm.mfu(tps, self.fpt, self.peak),
                            "tokens": self.tokens,
                            "elapsed_s": round(self.elapsed, 3),
                        }
                        metrics.write(json.dumps(row) + "\n")
                        metrics.flush()
                    t_mark, tokens_mark = now, self.tokens
                every = t.checkpoint_every
                if last or (every > 0 and self.step % every == 0):
                    if order is not None:
                        order.flush()
                    self._checkpoint()
                    t_mark = time.perf_counter()
        status = "completed" if self.step >= t.steps else "stopped"
        if status == "completed" and d.main:
            self._export_final()
        manifest = self._write_manifest(status)
        d.barrier()
        return manifest

    def _global_loss(self, loss: torch.Tensor) -> float:
        if self.d.world_size > 1:
            loss = loss.detach().clone()
            dist.all_reduce(loss, op=dist.ReduceOp.SUM)
            loss /= self.d.world_size
        return float(loss.item())

    # --- outputs ---------------------------------------------------------------------------

    def _checkpoint(self) -> None:
        msd, osd = ckpt.gather(self.model, self.optimizer)  # collective
        if self.d.main:
            state = {
                "step": self.step,
                "tokens": self.tokens,
                "elapsed_s": self.elapsed,
                "loss": self.last_loss,
                "resumed_at": self.resumed_at,
                "order_sha256": file_sha256(self.order_path),
            }
            ckpt.save_checkpoint(
                ckpt.step_dir(self.ckpt_root, self.step),
                msd,
                osd,
                self.hf_config,
                self.tok_dir,
                self.cfg.resolved(),
                state,
            )
            ckpt.prune(self.ckpt_root, self.cfg.train.keep_checkpoints)
            self._write_manifest("running")
        self.d.barrier()

    def _export_final(self) -> None:
        last = ckpt.latest(self.ckpt_root)
        assert last is not None
        final = self.out / "model"
        if final.exists():
            shutil.rmtree(final)
        final.mkdir()
        skip = {"trainer_state.json", "optimizer.json", "optimizer.safetensors", "rng.safetensors"}
        for src in sorted(last.iterdir()):
            if src.name not in skip:
                shutil.copyfile(src, final / src.name)

    def _write_manifest(self, status: str) -> dict[str, Any]:
        if not self.d.main:
            return {}
        cfg, info = self.cfg, provenance.code_info()
        last = ckpt.latest(self.ckpt_root)
        manifest = {
            "run_manifest": provenance.RUN_MANIFEST_FORMAT,
            "status": status,
            "links": dataclasses.asdict(cfg.links),
            "datasets": [ds.record() for ds in self.corpus.datasets],
            "tokenizer": {
                "sha256": file_sha256(self.tok_dir / "tokenizer.json"),
                "vocab_size": load_tokenizer(self.tok_dir).get_vocab_size(),
                "source": self.tok_source,
            },
            "code_version": provenance.code_version(info),
            "code": info,
            "config": cfg.resolved(),
            "seeds": {"model_init": cfg.train.seed, "data_order": cfg.train.seed},
            "world_size": self.d.world_size,
            "parallel": self.parallel,
            "precision": self.precision,
            "hardware": provenance.hardware_info(self.d.device, self.d.world_size),
            "order_file": self.order_path.name,
            "order_sha256": file_sha256(self.order_path),
            "metrics_file": self.metrics_path.name,
            "steps": self.step,
            "tokens": self.tokens,
            "params": self.n_params,
            "flops_per_token": self.fpt,
            "peak_flops": self.peak,
            "final_loss": self.last_loss,
            "checkpoint": None
            if last is None
            else {
                "step": int(json.loads((last / "trainer_state.json").read_text())["step"]),
                "path": str(last.relative_to(self.out)),
                "model_sha256": file_sha256(last / "model.safetensors"),
            },
            "model_dir": "model" if (self.out / "model").is_dir() else None,
            "resumed_at": self.resumed_at,
            "started_at": provenance.now_iso(),
            "wall_s": round(time.time() - self.t_start, 3),
        }
        path = self.out / "run_manifest.json"
        if path.is_file():  # keep the first start time across resumes
            with suppress(ValueError, KeyError):
                manifest["started_at"] = json.loads(path.read_text())["started_at"]
        manifest["updated_at"] = provenance.now_iso()
        provenance.write_manifest(path, manifest)
        return manifest


def _comparable(resolved: dict[str, Any]) -> str:
    """The part of a resolved config that must not change across a resume (not the links)."""
    return json.dumps({k: v for k, v in resolved.items() if k != "links"}, sort_keys=True)


def _truncate_metrics(path: Path, last_step: int) -> None:
    if not path.is_file():
        path.write_text("", encoding="utf-8")
        return
    keep = [
        ln
        for ln in path.read_text(encoding="utf-8").splitlines(keepends=True)
        if ln.strip() and json.loads(ln)["step"] <= last_step
    ]
    path.write_text("".join(keep), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; errors print one line and exit 2."""
    p = argparse.ArgumentParser(prog="python -m pnyx.training.run", description=__doc__)
    p.add_argument("--config", required=True, type=Path, help="training config (JSON or YAML)")
    p.add_argument(
        "--out", required=True, type=Path, help="output folder (resumes if it has checkpoints)"
    )
    p.add_argument("--stop-after", type=int, default=None, help="stop after this step")
    args = p.parse_args(argv)
    d: Dist | None = None
    try:
        cfg = load_config(args.config)
        d = setup_dist(cfg.train.device)
        manifest = Trainer(cfg, args.out, d).train(stop_after=args.stop_after)
        if d.main:
            keys = ("status", "steps", "tokens", "final_loss", "order_sha256", "world_size")
            print(json.dumps({k: manifest[k] for k in keys}))
        return 0
    except PnyxError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
