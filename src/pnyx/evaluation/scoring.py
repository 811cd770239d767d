"""Scoring a causal language model: log-likelihoods of continuations and of whole texts.

Multiple choice follows lm-eval's approach: each choice is a continuation of the context; the
model picks the choice with the highest summed log-likelihood (``acc``) or the highest
log-likelihood per byte of the choice (``acc_norm``). Perplexity is exp of the mean negative
log-likelihood per predicted token over the held-out texts, each cut to ``seq_len`` tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from tokenizers import Tokenizer

from pnyx.evaluation.items import MCItem, shuffled

BATCH = 64  # sequences per forward pass


def sequence_logprobs(model: Any, ids: list[list[int]], starts: list[int]) -> list[float]:
    """For each token list, the summed log-probability of its tokens from ``starts[i]`` on."""
    width = max(len(x) for x in ids)
    batch = torch.zeros((len(ids), width), dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, row in enumerate(ids):
        batch[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    with torch.no_grad():
        logits = model(input_ids=batch, attention_mask=mask).logits.float()
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    target = logp.gather(2, batch[:, 1:].unsqueeze(-1)).squeeze(-1)
    out = []
    for i, row in enumerate(ids):
        out.append(float(target[i, starts[i] - 1 : len(row) - 1].sum()))
    return out


def batched_logprobs(
    model: Any, ids: list[list[int]], starts: list[int], batch: int = BATCH
) -> list[float]:
    """:func:`sequence_logprobs` over ``ids`` in batches of ``batch`` sequences."""
    out: list[float] = []
    for i in range(0, len(ids), batch):
        out += sequence_logprobs(model, ids[i : i + batch], starts[i : i + batch])
    return out


def score_multiple_choice(
    model: Any, tokenizer: Tokenizer, items: Sequence[MCItem], bos_id: int | None
) -> dict[str, Any]:
    """acc and acc_norm of ``model`` on ``items`` (and per-item picks, for the report)."""
    shuffled_items = [shuffled(raw) for raw in items]
    ids: list[list[int]] = []
    starts: list[int] = []
    for item in shuffled_items:
        prefix = ([bos_id] if bos_id is not None else []) + _encode(tokenizer, item.context)
        ids += [prefix + _encode(tokenizer, c) for c in item.choices]
        starts += [len(prefix)] * len(item.choices)
    scores = batched_logprobs(model, ids, starts)
    correct = correct_norm = 0
    rows = []
    at = 0
    for item in shuffled_items:
        mine = scores[at : at + len(item.choices)]
        at += len(item.choices)
        norm = [s / max(1, len(c.encode())) for s, c in zip(mine, item.choices, strict=True)]
        pick, pick_norm = _argmax(mine), _argmax(norm)
        correct += pick == item.answer
        correct_norm += pick_norm == item.answer
        rows.append({"context": item.context, "answer": item.answer, "pick": pick})
    n = len(items)
    return {
        "acc": round(correct / n, 4),
        "acc_norm": round(correct_norm / n, 4),
        "n": n,
        "chance": round(sum(1 / len(i.choices) for i in items) / n, 4),
        "items": rows,
    }


def perplexity(
    model: Any, tokenizer: Tokenizer, texts: Sequence[str], seq_len: int, bos_id: int | None
) -> dict[str, Any]:
    """Token-weighted perplexity of ``model`` over ``texts`` (each cut to ``seq_len`` tokens)."""
    head = [bos_id] if bos_id is not None else []
    ids = [head + _encode(tokenizer, text)[: seq_len - len(head)] for text in texts]
    ids = [x for x in ids if len(x) >= 2]
    if not ids:
        raise ValueError("no held-out text long enough to score")
    nll = -sum(batched_logprobs(model, ids, [1] * len(ids), batch=8))
    tokens = sum(len(x) - 1 for x in ids)
    mean = nll / tokens
    return {
        "perplexity": round(math.exp(mean), 4),
        "nll_per_token": round(mean, 6),
        "tokens": tokens,
        "documents": len(ids),
    }


def _argmax(values: Sequence[float]) -> int:
    return max(range(len(values)), key=lambda i: (values[i], -i))


def _encode(tokenizer: Tokenizer, text: str) -> list[int]:
    return list(tokenizer.encode(text, add_special_tokens=False).ids)
