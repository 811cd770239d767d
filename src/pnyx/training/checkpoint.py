"""Checkpoints: a Hugging Face model folder plus what resuming needs, all in safetensors/JSON.

A checkpoint folder ``step-NNNNNNNN`` holds

- ``model.safetensors``, ``config.json``, ``generation_config.json`` and the tokenizer files:
  ``AutoModelForCausalLM.from_pretrained(folder)`` and ``AutoTokenizer.from_pretrained(folder)``
  load it as it is;
- ``training_config.json``: the resolved training configuration;
- ``optimizer.safetensors`` + ``optimizer.json``: AdamW's state tensors (keyed
  ``<parameter name>::<state name>``) and its parameter groups;
- ``rng.safetensors``: the torch CPU (and CUDA) generator states;
- ``trainer_state.json``: the step reached, tokens seen, elapsed time.

Works for plain, DDP and FSDP2 models alike: the full (unsharded) state is gathered with
``torch.distributed.checkpoint.state_dict`` and written by rank 0; on load every rank reads the
full state and the API re-shards it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, cast

import torch
from safetensors.torch import load_file, save_file
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from transformers import GenerationConfig, LlamaConfig

from pnyx.training.tokenizer import TOKENIZER_FILES

_FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)
_SEP = "::"


def step_dir(root: Path, step: int) -> Path:
    """The folder of the checkpoint at ``step`` under ``root``."""
    return Path(root) / f"step-{step:08d}"


def latest(root: Path) -> Path | None:
    """The newest complete checkpoint under ``root`` (one with trainer_state.json)."""
    done = _complete(root)
    return done[-1] if done else None


def _complete(root: Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.glob("step-*")
        if not p.name.endswith(".partial") and (p / "trainer_state.json").is_file()
    )


def save_hf_model(
    folder: Path,
    state: dict[str, torch.Tensor],
    hf_config: LlamaConfig,
    tokenizer_dir: Path,
    resolved: dict[str, Any],
) -> None:
    """Write a Hugging Face model folder (weights, configs, tokenizer, training config)."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous() for k, v in state.items()}
    if hf_config.tie_word_embeddings:
        tensors.pop("lm_head.weight", None)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    dtype = next(iter(tensors.values())).dtype
    cfg = LlamaConfig.from_dict(hf_config.to_dict())
    cfg.dtype = str(dtype).removeprefix("torch.")
    cfg.use_cache = True
    cfg.architectures = ["LlamaForCausalLM"]
    cfg.save_pretrained(str(folder))
    GenerationConfig(  # type: ignore[no-untyped-call]
        bos_token_id=cfg.bos_token_id,
        eos_token_id=cfg.eos_token_id,
        pad_token_id=cfg.pad_token_id if cfg.pad_token_id is not None else cfg.eos_token_id,
        do_sample=False,
    ).save_pretrained(str(folder))
    for name in TOKENIZER_FILES:
        src = Path(tokenizer_dir) / name
        if src.is_file():
            shutil.copyfile(src, folder / name)
    _write_json(folder / "training_config.json", resolved)


def gather(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Full model and optimiser state on CPU (a collective under DDP/FSDP: call on all ranks)."""
    msd = get_model_state_dict(model, options=_FULL)
    osd = get_optimizer_state_dict(model, optimizer, options=_FULL)
    return cast(dict[str, torch.Tensor], msd), cast(dict[str, Any], osd)


def save_checkpoint(
    folder: Path,
    msd: dict[str, torch.Tensor],
    osd: dict[str, Any],
    hf_config: LlamaConfig,
    tokenizer_dir: Path,
    resolved: dict[str, Any],
    trainer_state: dict[str, Any],
) -> Path:
    """Write a whole checkpoint (rank 0 only); trainer_state.json last, marking it complete."""
    tmp = folder.with_name(folder.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    save_hf_model(tmp, msd, hf_config, tokenizer_dir, resolved)
    tensors: dict[str, torch.Tensor] = {}
    for fqn, st in osd["state"].items():
        for key, value in st.items():
            t = value if isinstance(value, torch.Tensor) else torch.tensor(value)
            tensors[f"{fqn}{_SEP}{key}"] = t.detach().contiguous()
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    _write_json(tmp / "optimizer.json", {"param_groups": osd["param_groups"]})
    rng = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            rng[f"torch_cuda_{i}"] = s
    save_file(rng, str(tmp / "rng.safetensors"))
    _write_json(tmp / "trainer_state.json", trainer_state)
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder


def load_checkpoint(
    folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
    """Restore model, optimiser and RNG state from ``folder``; returns its trainer state."""
    folder = Path(folder)
    msd = load_file(str(folder / "model.safetensors"))
    if "lm_head.weight" not in msd and "model.embed_tokens.weight" in msd:
        tied = getattr(getattr(model, "config", None), "tie_word_embeddings", False)
        if tied:
            msd["lm_head.weight"] = msd["model.embed_tokens.weight"]
    set_model_state_dict(model, cast(Any, msd), options=StateDictOptions(full_state_dict=True))
    flat = load_file(str(folder / "optimizer.safetensors"))
    state: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in flat.items():
        fqn, _, name = key.rpartition(_SEP)
        state.setdefault(fqn, {})[name] = value
    groups = json.loads((folder / "optimizer.json").read_text(encoding="utf-8"))["param_groups"]
    for g in groups:
        if isinstance(g.get("betas"), list):
            g["betas"] = tuple(g["betas"])
    set_optimizer_state_dict(
        model,
        optimizer,
        cast(Any, {"state": state, "param_groups": groups}),
        options=StateDictOptions(full_state_dict=True),
    )
    rng = load_file(str(folder / "rng.safetensors"))
    torch.set_rng_state(rng["torch_cpu"])
    if torch.cuda.is_available():
        cuda_states = [rng[k] for k in sorted(rng) if k.startswith("torch_cuda_")]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
    out: dict[str, Any] = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    return out


def prune(root: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest complete checkpoints under ``root``."""
    if keep <= 0:
        return
    for old in _complete(root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")
