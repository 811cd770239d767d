"""A tiny HF-format causal LM directory (random Llama + BPE tokenizer) for model tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

TEXT = [
    "import os\nimport sys\n\ndef main():\n    return 0\n",
    "The function returns a list of the keyword arguments.",
    "class Foo(object):\n    def __init__(self, name):\n        self.name = name\n",
]


def make_tiny_model(out: Path, seed: int = 0) -> Path:
    """Write config.json, model.safetensors and tokenizer.json of a ~100k-parameter Llama."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(TEXT * 4, trainer)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = LlamaForCausalLM(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save(str(out / "tokenizer.json"))
    return out


DOCS = [
    f'def helper_{i}(value):\n    """Return the value plus {i}."""\n    return value + {i}\n'
    for i in range(12)
]


def make_dataset(
    store: Any, name: str = "tinycode", version: int = 1, docs: list[str] | None = None
) -> str:
    """Store one JSONL shard of DOCS and its manifest; return the manifest's sha256."""
    from pnyx.data.manifest import manifest_bytes
    from pnyx.data.shards import TextRecord, write_text_shard

    docs = DOCS if docs is None else docs
    shard = write_text_shard(
        TextRecord.of(f"doc-{i}", text, "tests") for i, text in enumerate(docs)
    )
    shard_sha = store.put_bytes(shard)
    manifest = {
        "dataset": name,
        "version": version,
        "modality": "code",
        "license": "CC0-1.0",
        "source": "tests/integration/models_setup.py",
        "parent": None,
        "shards": [
            {"sha256": shard_sha, "bytes": len(shard), "records": len(docs), "format": "jsonl"}
        ],
        "records": len(docs),
        "bytes": len(shard),
        "tokens": {},
        "metadata": {},
        "removed": [],
    }
    return str(store.put_bytes(manifest_bytes(manifest)))


def make_run_output(out: Path, manifest_sha: str, seen: list[list[int]], **extra: Any) -> Path:
    """A training run's output directory: run_manifest.json, order.jsonl, metrics.jsonl and
    the model files; ``seen`` are the global sample indices per step."""
    make_tiny_model(out / "model")
    header = {
        "order_file": 1,
        "datasets": [{"dataset": "tinycode", "version": 1, "manifest_sha256": manifest_sha}],
    }
    steps = [
        {"step": i + 1, "epoch": 0, "sequences": [[[0, doc, 0, 10]] for doc in docs]}
        for i, docs in enumerate(seen)
    ]
    order = "".join(json.dumps(row) + "\n" for row in [header, *steps])
    (out / "order.jsonl").write_text(order)
    manifest = {
        "datasets": [{"dataset": "tinycode", "version": 1, "manifest_sha256": manifest_sha}],
        "code_version": "0.1.0+test",
        "config": {"steps": len(seen), "lr": 0.003, "seed": 1},
        "world_size": 1,
        "hardware": {"device": "cpu", "threads": 2},
        "order_file": "order.jsonl",
        "order_sha256": hashlib.sha256(order.encode()).hexdigest(),
        "status": "completed",
        **extra,
    }
    (out / "run_manifest.json").write_text(json.dumps(manifest))
    metrics = [
        {
            "step": i + 1,
            "loss": 6.0 - 0.5 * i,
            "tokens_per_s": 1000.0 + i,
            "mfu": 0.001,
            "lr": 0.003,
        }
        for i in range(len(seen))
    ]
    (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in metrics))
    return out


def code_docs(n: int) -> list[str]:
    """``n`` small, distinct Python functions (an acceptance-test corpus)."""
    verbs = ("add", "scale", "clip", "merge", "count", "parse", "format", "check")
    nouns = ("items", "values", "names", "lines", "tokens", "paths", "rows", "keys")
    out = []
    for i in range(n):
        verb, noun = verbs[i % len(verbs)], nouns[(i // len(verbs)) % len(nouns)]
        out.append(
            f"def {verb}_{noun}_{i}({noun}, limit={i % 7 + 1}):\n"
            f'    """{verb.title()} the {noun} up to the limit."""\n'
            f"    result = []\n"
            f"    for item in {noun}[:limit]:\n"
            f"        result.append(item)\n"
            f"    return result\n"
        )
    return out
