"""The training step shared by the recipe (``run.py``) and the benchmarks.

One optimiser step = ``grad_accum`` micro-batches of ``[micro_batch, seq_len]`` token ids,
next-token cross-entropy, gradient clipping, AdamW (fused on CUDA) with linear warm-up and
cosine decay. Precision: ``fp32``; ``bf16`` (bf16 parameters, gradients and optimiser state);
``bf16-mixed`` (fp32 parameters, bf16 autocast). Imports only torch.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn

PRECISIONS = ("fp32", "bf16", "bf16-mixed")


@dataclass(frozen=True)
class OptimConfig:
    """AdamW and its learning-rate schedule."""

    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 10
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    grad_clip: float = 1.0


def lr_at(step: int, total_steps: int, oc: OptimConfig) -> float:
    """Learning rate of optimiser step ``step`` (0-based): linear warm-up, then cosine."""
    if oc.warmup_steps > 0 and step < oc.warmup_steps:
        return oc.lr * (step + 1) / oc.warmup_steps
    span = max(1, total_steps - oc.warmup_steps)
    progress = min(1.0, (step - oc.warmup_steps) / span)
    low = oc.lr * oc.min_lr_ratio
    return low + 0.5 * (oc.lr - low) * (1.0 + math.cos(math.pi * progress))


def param_dtype(precision: str) -> torch.dtype:
    """The dtype parameters are kept in under ``precision``."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    return torch.bfloat16 if precision == "bf16" else torch.float32


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager[None]:
    """bf16 autocast under ``bf16-mixed``, else a no-op."""
    if precision == "bf16-mixed":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def make_optimizer(model: nn.Module, oc: OptimConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW; no weight decay on norms and biases (1-D tensors); fused on CUDA."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": oc.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(
        groups,
        lr=oc.lr,
        betas=(oc.beta1, oc.beta2),
        eps=oc.eps,
        fused=device.type == "cuda",
    )


def compile_blocks(model: nn.Module) -> nn.Module:
    """``torch.compile`` each decoder layer in place (one graph, reused by every layer).

    Compiling per block keeps compile time short and avoids graph breaks in the HF wrapper;
    ``Module.compile`` keeps parameter names unchanged, so checkpoints stay loadable.
    """
    layers = getattr(getattr(model, "model", None), "layers", None)
    for layer in layers if layers is not None else [model]:
        layer.compile()
    return model


def causal_lm_loss(model: nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy of ``input_ids`` ([batch, seq]) under ``model``."""
    out = model(input_ids=input_ids, labels=input_ids, use_cache=False)
    loss: torch.Tensor = out.loss
    return loss


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    micro_batches: Sequence[torch.Tensor],
    *,
    lr: float,
    precision: str,
    grad_clip: float,
    no_sync: bool = False,
) -> torch.Tensor:
    """One optimiser step over ``micro_batches``; returns the mean loss (a 0-d tensor).

    The loss is not synchronised to the host here, so GPU work can run ahead. With
    ``no_sync`` (DDP) gradients are reduced only on the last micro-batch.
    """
    for group in optimizer.param_groups:
        group["lr"] = lr
    device = micro_batches[0].device
    n = len(micro_batches)
    total = torch.zeros((), device=device, dtype=torch.float32)
    for i, ids in enumerate(micro_batches):
        sync_ctx = _maybe_no_sync(model, no_sync and i < n - 1)
        with sync_ctx, autocast(precision, device):
            loss = causal_lm_loss(model, ids)
        (loss / n).backward()  # type: ignore[no-untyped-call]
        total += loss.detach().float()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total / n


def _maybe_no_sync(model: nn.Module, skip: bool) -> contextlib.AbstractContextManager[None]:
    no_sync = getattr(model, "no_sync", None)
    if skip and callable(no_sync):
        ctx: contextlib.AbstractContextManager[None] = no_sync()
        return ctx
    return contextlib.nullcontext()


def random_batches(
    vocab_size: int, micro_batch: int, seq_len: int, n: int, device: torch.device, seed: int = 0
) -> Iterator[list[torch.Tensor]]:
    """Endless lists of ``n`` micro-batches of fresh random tokens, made on ``device``."""
    gen = torch.Generator(device=device).manual_seed(seed)
    while True:
        yield [
            torch.randint(0, vocab_size, (micro_batch, seq_len), generator=gen, device=device)
            for _ in range(n)
        ]
