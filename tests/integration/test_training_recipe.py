"""The reference training recipe end to end on CPU: resume, order file, tamper, HF loading."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from training_setup import documents, losses, make_dataset, write_config

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.manifest import locate, parse_manifest
from pnyx.data.shards import read_text_shard
from pnyx.training.data import documents_at, file_sha256
from pnyx.training.run import main


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "artifacts"
    return root, make_dataset(root, documents(40))


def _run(cfg: Path, out: Path, *extra: str) -> int:
    return main(["--config", str(cfg), "--out", str(out), *extra])


def test_resume_reproduces_the_loss_sequence_bit_for_bit(
    tmp_path: Path, dataset: tuple[Path, str]
) -> None:
    root, sha = dataset
    cfg = write_config(tmp_path / "c.json", root, sha)
    assert _run(cfg, tmp_path / "straight") == 0
    assert _run(cfg, tmp_path / "halves", "--stop-after", "3") == 0
    stopped = json.loads((tmp_path / "halves" / "run_manifest.json").read_text())
    assert stopped["status"] == "stopped" and stopped["steps"] == 3
    assert len(losses(tmp_path / "halves")) == 3
    assert _run(cfg, tmp_path / "halves") == 0
    straight, halves = losses(tmp_path / "straight"), losses(tmp_path / "halves")
    assert len(straight) == 6
    assert halves == straight  # floats compared exactly
    a, b = tmp_path / "straight", tmp_path / "halves"
    assert (a / "order.jsonl").read_bytes() == (b / "order.jsonl").read_bytes()
    assert file_sha256(a / "model" / "model.safetensors") == file_sha256(
        b / "model" / "model.safetensors"
    )
    resumed = json.loads((b / "run_manifest.json").read_text())
    assert resumed["status"] == "completed" and resumed["resumed_at"] == [3]


def test_order_file_lists_the_documents_of_a_step(
    tmp_path: Path, dataset: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, sha = dataset
    monkeypatch.setenv("PNYX_JOB_ID", "job-42")
    monkeypatch.setenv("PNYX_AWARD_ID", "award-7")
    cfg = write_config(tmp_path / "c.json", root, sha, steps=4, checkpoint_every=0)
    out = tmp_path / "run"
    assert _run(cfg, out) == 0
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["order_sha256"] == file_sha256(out / "order.jsonl")
    assert manifest["links"]["job_id"] == "job-42" and manifest["links"]["award_id"] == "award-7"
    assert manifest["world_size"] == 1 and manifest["seeds"]["data_order"] == 7
    (ds,) = manifest["datasets"]
    assert ds["manifest_sha256"] == sha

    store = ArtifactStore(root)
    version = parse_manifest(store.read(sha))
    assert [s["sha256"] for s in ds["shards"]] == [s["sha256"] for s in version["shards"]]
    docs = documents_at(out / "order.jsonl", 3)
    assert docs
    seen_tokens = 0
    for doc in docs:
        shard, line = locate(version, doc["index"])
        record = read_text_shard(store.read(version["shards"][shard]["sha256"]))[line]
        assert record.sha256 == hashlib.sha256(record.text.encode()).hexdigest()
        assert record == documents(40)[doc["index"]]  # the global index names this document
        seen_tokens += sum(end - first for first, end in doc["spans"])
    assert seen_tokens == 2 * 2 * 32  # micro_batch x grad_accum x seq_len


def test_a_tampered_shard_is_refused(
    tmp_path: Path, dataset: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, sha = dataset
    store = ArtifactStore(root)
    shard = parse_manifest(store.read(sha))["shards"][1]["sha256"]
    path = store.path(shard)
    path.write_bytes(path.read_bytes().replace(b"model", b"m0del", 1))
    cfg = write_config(tmp_path / "c.json", root, sha)
    assert _run(cfg, tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert shard in err and "corrupt" in err
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_saved_model_and_tokenizer_load_with_transformers(
    tmp_path: Path, dataset: tuple[Path, str]
) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root, sha = dataset
    cfg = write_config(tmp_path / "c.json", root, sha, steps=2, checkpoint_every=0)
    assert _run(cfg, tmp_path / "run") == 0
    folder = tmp_path / "run" / "model"
    model = AutoModelForCausalLM.from_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(folder)
    ids = tok("the model reads", return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=5, do_sample=False)
    assert out.shape == (1, ids["input_ids"].shape[1] + 5)
    assert isinstance(tok.decode(out[0]), str)
    assert tok.eos_token_id == model.config.eos_token_id == 2
    recorded = json.loads((folder / "training_config.json").read_text())
    assert recorded["train"]["seed"] == 7
    ckpt = tmp_path / "run" / "checkpoints" / "step-00000002"
    assert (ckpt / "optimizer.safetensors").is_file() and (ckpt / "rng.safetensors").is_file()
    with torch.no_grad():
        again = AutoModelForCausalLM.from_pretrained(ckpt)
        assert torch.equal(again.lm_head.weight, model.lm_head.weight)


def test_resume_refuses_a_different_config(tmp_path: Path, dataset: tuple[Path, str]) -> None:
    root, sha = dataset
    out = tmp_path / "run"
    assert _run(write_config(tmp_path / "a.json", root, sha, steps=2), out) == 0
    assert _run(write_config(tmp_path / "b.json", root, sha, steps=2, seed=8), out) == 2
