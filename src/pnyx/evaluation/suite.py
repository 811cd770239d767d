"""Evaluate a model directory: held-out perplexity and the multiple-choice benchmark."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pnyx.domain.models import HELDOUT_SUITE, MC_SUITE
from pnyx.evaluation import pycloze
from pnyx.evaluation.items import benchmark_items
from pnyx.evaluation.scoring import perplexity, score_multiple_choice


def evaluate_directory(
    model_dir: Path, heldout: Sequence[str], seq_len: int = 256
) -> dict[str, dict[str, Any]]:
    """Reports per suite for the HF-format model in ``model_dir``.

    ``heldout`` are documents of the registered data the run never trained on.
    """
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()  # type: ignore[no-untyped-call]
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    config = json.loads((model_dir / "config.json").read_text())
    bos = config.get("bos_token_id")
    bos_id = bos if isinstance(bos, int) else None
    seq_len = min(seq_len, int(config.get("max_position_embeddings", seq_len)))
    ppl = perplexity(model, tokenizer, heldout, seq_len, bos_id)
    mc = score_multiple_choice(model, tokenizer, benchmark_items(), bos_id)
    return {
        HELDOUT_SUITE: {"suite": HELDOUT_SUITE, "seq_len": seq_len, **ppl},
        MC_SUITE: {
            "suite": MC_SUITE,
            "benchmark": pycloze.NAME,
            "license": pycloze.LICENSE,
            "source": pycloze.SOURCE,
            "method": "log-likelihood of each choice (acc) and per byte (acc_norm)",
            **mc,
        },
    }
