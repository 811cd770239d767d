"""Model sizes, FLOP accounting and MFU."""

from __future__ import annotations

import pytest
import torch

from pnyx.training import engine
from pnyx.training import model as tm


def test_tiny_and_demo_sizes() -> None:
    tiny = tm.build_model(tm.preset("tiny"), seed=0)
    assert 1_000_000 <= tm.count_params(tiny) <= 3_000_000
    demo = tm.build_model(tm.preset("demo"), seed=0)
    assert 2_000_000 <= tm.count_params(demo) <= 10_000_000


def test_flops_formula_and_embedding_exclusion() -> None:
    mc = tm.preset("tiny")
    model = tm.build_model(mc, seed=0)
    n = tm.flop_params(model)
    assert n == tm.count_params(model) - mc.vocab_size * mc.hidden_size
    fpt = tm.flops_per_token(n, mc, 64)
    assert fpt == 6 * n + 12 * mc.num_layers * mc.num_heads * mc.head_dim * 64
    tied = tm.build_model(tm.preset("tiny", tie_embeddings=True), seed=0)
    assert tm.flop_params(tied) == tm.count_params(tied)


def test_mfu_needs_a_known_peak() -> None:
    assert tm.mfu(1000.0, 1e9, None) is None
    assert tm.mfu(1000.0, 1e9, 1e13) == pytest.approx(0.1)
    assert tm.peak_flops("cpu") is None


def test_same_seed_same_weights() -> None:
    a = tm.build_model(tm.preset("tiny"), seed=3)
    b = tm.build_model(tm.preset("tiny"), seed=3)
    c = tm.build_model(tm.preset("tiny"), seed=4)
    wa, wb, wc = (m.model.layers[0].mlp.up_proj.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_bf16_parameters() -> None:
    model = tm.build_model(tm.preset("tiny"), dtype=engine.param_dtype("bf16"), seed=0)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def test_lr_schedule_warmup_then_cosine() -> None:
    oc = engine.OptimConfig(lr=1.0, min_lr_ratio=0.1, warmup_steps=4)
    assert [engine.lr_at(s, 20, oc) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert engine.lr_at(20, 20, oc) == pytest.approx(0.1)
    values = [engine.lr_at(s, 20, oc) for s in range(4, 21)]
    assert values == sorted(values, reverse=True)


def test_train_step_lowers_the_loss_on_repeated_data() -> None:
    torch.set_num_threads(1)
    mc = tm.preset("tiny")
    model = tm.build_model(mc, seed=0)
    opt = engine.make_optimizer(model, engine.OptimConfig(), torch.device("cpu"))
    batch = next(engine.random_batches(mc.vocab_size, 2, 16, 1, torch.device("cpu")))
    kw = {"lr": 3e-3, "precision": "fp32", "grad_clip": 1.0}
    first = engine.train_step(model, opt, batch, **kw).item()
    for _ in range(5):
        last = engine.train_step(model, opt, batch, **kw).item()
    assert last < first
