"""Acceptance (CPU, small): the reference recipe trains a tiny model in a subprocess; the model
is registered with its run, evaluated, released, downloaded with verified checksums, and the
downloaded directory loads with transformers and generates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.integration.jobs_setup import build_world, request
from tests.integration.models_setup import code_docs, make_dataset

from pnyx.data.artifacts import ArtifactStore
from pnyx.domain.identity import Actor
from pnyx.services import evaluation, jobs, models, runs
from pnyx.services.context import ServiceContext
from pnyx.store.replay import check_replay

SYSTEM = Actor.system()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[ArtifactStore, Path]:
    """One training run shared by the SQLite and PostgreSQL variants of the test."""
    root = tmp_path_factory.mktemp("acceptance")
    store = ArtifactStore(root / "artifacts")
    manifest = make_dataset(store, docs=code_docs(160))
    config = {
        "model": {
            "preset": "tiny", "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128,
            "num_layers": 2, "num_heads": 2, "num_kv_heads": 2, "max_seq_len": 64,
        },
        "data": {"artifact_root": str(store.root), "datasets": [{"manifest": manifest}],
                 "seq_len": 64},
        "tokenizer": {"vocab_size": 512},
        "train": {"steps": 6, "micro_batch": 4, "seed": 3, "log_every": 1},
    }  # fmt: skip
    (root / "config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PNYX_")}
    done = subprocess.run(
        [sys.executable, "-m", "pnyx.training.run", "--config", str(root / "config.json"),
         "--out", str(root / "out")],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return store, root / "out"


def test_train_register_evaluate_release_download_generate(
    ctx: ServiceContext, trained: tuple[ArtifactStore, Path], tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    store, out = trained
    world = build_world(ctx)
    job = jobs.submit_job(ctx, world.alice, request(world))
    run = runs.register_run_dir(ctx, SYSTEM, store, out, job.job_id)
    assert run.steps == 6 and run.metric_points == 6 and run.award_id == world.award_alpha
    version = models.register_model_version(
        ctx, SYSTEM, store, run.run_id, out / "model", "accept-lm", "Apache-2.0", "Acceptance."
    )
    reports = evaluation.evaluate_model(ctx, SYSTEM, store, version.id)
    ppl = next(r for r in reports if r.suite == "heldout-perplexity").metrics
    assert ppl["documents"] > 0 and ppl["perplexity"] > 1.0
    released = models.release_model(ctx, SYSTEM, store, version.id)
    assert released.released

    target = tmp_path / "model"
    result = models.download_model(ctx, Actor.public(), store, version.id, target)
    assert result.verified and (target / "README.md").is_file()
    model = AutoModelForCausalLM.from_pretrained(target)
    tokenizer = AutoTokenizer.from_pretrained(target)
    ids = tokenizer("def add_items", return_tensors="pt").input_ids
    generated = model.generate(ids, max_new_tokens=5, do_sample=False)
    assert generated.shape[1] == ids.shape[1] + 5
    assert isinstance(tokenizer.decode(generated[0]), str)
    assert check_replay(ctx.db).ok
