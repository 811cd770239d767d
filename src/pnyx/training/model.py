"""Llama-family models from Hugging Face ``transformers``, and their FLOP accounting.

Sizes go from a few million parameters (CPU demo and tests) to billions (GPUs). Weights saved by
the recipe load with ``AutoModelForCausalLM.from_pretrained``.

MFU follows the PaLM / torchtitan convention: a token costs ``6 N + 12 L H Q T`` FLOPs (forward
and backward), where ``N`` is the parameter count without the input embedding (a lookup, not a
matrix product; the output projection counts), ``L`` layers, ``H`` attention heads, ``Q`` head
dimension and ``T`` sequence length. MFU = that x tokens/s / the device's peak dense bf16 FLOP/s.

Imports only torch and transformers, so ``bench/gpu_train.py`` runs on a bare GPU machine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM


@dataclass(frozen=True)
class ModelConfig:
    """The shape of a Llama-family decoder."""

    vocab_size: int = 4096
    hidden_size: int = 256
    intermediate_size: int = 688
    num_layers: int = 4
    num_heads: int = 4
    num_kv_heads: int = 4
    max_seq_len: int = 256
    rope_theta: float = 10000.0
    tie_embeddings: bool = False
    rms_norm_eps: float = 1e-5
    initializer_range: float = 0.02

    @property
    def head_dim(self) -> int:
        """Hidden size per attention head."""
        return self.hidden_size // self.num_heads


# Named sizes. "tiny" is for tests (1.3 M parameters), "demo" for the CPU demo (2.5 M), "1b" the
# GPU benchmark (1.12 B, TinyLlama-like with head dimension 128 and grouped-query attention).
PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(
        vocab_size=2048, hidden_size=160, intermediate_size=432, num_layers=2, num_heads=4,
        num_kv_heads=4, max_seq_len=128,
    ),
    "demo": ModelConfig(
        vocab_size=2048, hidden_size=192, intermediate_size=512, num_layers=4, num_heads=4,
        num_kv_heads=4, max_seq_len=256,
    ),
    "150m": ModelConfig(
        vocab_size=32000, hidden_size=768, intermediate_size=2048, num_layers=12, num_heads=12,
        num_kv_heads=12, max_seq_len=2048,
    ),
    "1b": ModelConfig(
        vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_layers=22, num_heads=16,
        num_kv_heads=4, max_seq_len=4096, rope_theta=500000.0,
    ),
}  # fmt: skip


def preset(name: str, **overrides: Any) -> ModelConfig:
    """A named size, with fields overridden; KeyError names the known presets."""
    if name not in PRESETS:
        raise KeyError(f"unknown model preset {name!r}; known: {', '.join(sorted(PRESETS))}")
    return replace(PRESETS[name], **overrides)


def hf_config(mc: ModelConfig, bos_token_id: int = 1, eos_token_id: int = 2) -> LlamaConfig:
    """The ``transformers`` LlamaConfig of ``mc`` (SDPA attention)."""
    cfg = LlamaConfig(
        vocab_size=mc.vocab_size,
        hidden_size=mc.hidden_size,
        intermediate_size=mc.intermediate_size,
        num_hidden_layers=mc.num_layers,
        num_attention_heads=mc.num_heads,
        num_key_value_heads=mc.num_kv_heads,
        max_position_embeddings=mc.max_seq_len,
        rms_norm_eps=mc.rms_norm_eps,
        initializer_range=mc.initializer_range,
        tie_word_embeddings=mc.tie_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": mc.rope_theta},
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
        pad_token_id=None,
        use_cache=True,
    )
    cfg._attn_implementation = "sdpa"
    return cfg


def build_model(
    mc: ModelConfig,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    seed: int | None = None,
    bos_token_id: int = 1,
    eos_token_id: int = 2,
) -> LlamaForCausalLM:
    """A freshly initialised model on ``device`` (created there: no host round trip).

    With ``seed`` the initial weights depend only on the seed (the global torch generator is
    seeded first, on CPU; on a GPU the CUDA generator too).
    """
    if seed is not None:
        torch.manual_seed(seed)
    cfg = hf_config(mc, bos_token_id=bos_token_id, eos_token_id=eos_token_id)
    with torch.device(device):
        model = LlamaForCausalLM(cfg)
    if dtype != torch.float32:
        nn.Module.to(model, dtype=dtype)
    model.config.use_cache = False  # training; generation turns it back on per call
    return model


def count_params(model: nn.Module) -> int:
    """All parameters (tied weights counted once)."""
    return sum(p.numel() for p in model.parameters())


def flop_params(model: nn.Module) -> int:
    """Parameters that cost matrix-product FLOPs: all but the input embedding (unless tied)."""
    total = count_params(model)
    get_in = getattr(model, "get_input_embeddings", None)
    get_out = getattr(model, "get_output_embeddings", None)
    emb = get_in() if callable(get_in) else None
    out = get_out() if callable(get_out) else None
    if not isinstance(emb, nn.Module):
        return total
    weight = emb.get_parameter("weight")
    if isinstance(out, nn.Module) and out.get_parameter("weight") is weight:
        return total
    return total - weight.numel()


def flops_per_token(n_params: int, mc: ModelConfig, seq_len: int) -> float:
    """Training FLOPs per token: ``6 N + 12 L H Q T`` (forward + backward)."""
    return 6.0 * n_params + 12.0 * mc.num_layers * mc.num_heads * mc.head_dim * seq_len


# Dense bf16 peaks (FLOP/s) by device name; H200 has the H100 SXM's compute.
_PEAKS = (
    ("H200", 989.4e12),
    ("H100", 989.4e12),
    ("GH200", 989.4e12),
    ("B200", 2250e12),
    ("A100", 312e12),
    ("L40S", 362e12),
    ("MI300X", 1307e12),
)


def peak_flops(device: torch.device | str | None = None) -> float | None:
    """The device's dense bf16 peak in FLOP/s, or None when unknown (e.g. a CPU)."""
    dev = torch.device(device) if device is not None else None
    if dev is None or dev.type != "cuda" or not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name(dev)
    for key, value in _PEAKS:
        if key in name:
            return value
    return None


def mfu(tokens_per_s: float, flops_token: float, peak: float | None) -> float | None:
    """Model FLOPs utilisation in 0..1, or None when the peak is unknown."""
    if not peak:
        return None
    return tokens_per_s * flops_token / peak
