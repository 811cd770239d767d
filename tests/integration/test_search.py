"""Training-data search end to end: index a dataset version, count, locate, prove, verify."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.search import index as idx
from pnyx.data.search.proof import verify_proof
from pnyx.domain.identity import Actor
from pnyx.errors import InvalidInputError, NotFoundError, VerificationError
from pnyx.services import datasets, search, search_proof
from pnyx.services.context import ServiceContext
from pnyx.store.replay import check_replay

OPERATOR = Actor.system()
DOCS = {
    "a.txt": "The quick brown fox jumps over the lazy dog.\nfox again: fox.",
    "b.txt": "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Ünïcödé fox",
    "c.txt": "A third document whose ending is split acr",
    "d.txt": "oss files: nothing may match across documents.",
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ArtifactStore]:
    yield ArtifactStore(tmp_path / "artifacts")
    idx.close_all()


def add_corpus(ctx: ServiceContext, store: ArtifactStore, tmp_path: Path, limit: int = 600) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir(exist_ok=True)
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    datasets.add_version(
        ctx, OPERATOR, store, "demo-text", folder, "text", "CC0-1.0", "test corpus", limit
    )


def indexed(ctx: ServiceContext, store: ArtifactStore, tmp_path: Path) -> None:
    add_corpus(ctx, store, tmp_path)
    built = search.build_index(ctx, OPERATOR, store, "demo-text@1")
    assert len(built.shards) >= 2  # small shard limit: several shards
    assert {s.status for s in built.shards} == {"built"}


def test_count_and_locate(ctx: ServiceContext, store: ArtifactStore, tmp_path: Path) -> None:
    indexed(ctx, store, tmp_path)
    assert search.count(ctx, store, "demo-text", "fox").count == 4
    assert search.count(ctx, store, "demo-text@1", "across").count == 1
    assert search.count(ctx, store, "demo-text", "split across").count == 0  # spans two docs
    found = search.locate(ctx, store, "demo-text", "fox", limit=10)
    assert found.count == 4 and len(found.hits) == 4
    first = found.hits[0]
    assert first.match == "fox" and first.before.endswith("brown ") and first.offset == 16
    assert [h.global_doc for h in found.hits] == sorted(h.global_doc for h in found.hits)
    assert search.locate(ctx, store, "demo-text", "Ünïcödé", 5).hits[0].match == "Ünïcödé"


def test_build_resumes_and_reuses(
    ctx: ServiceContext, store: ArtifactStore, tmp_path: Path
) -> None:
    indexed(ctx, store, tmp_path)
    again = search.build_index(ctx, OPERATOR, store, "demo-text")
    assert {s.status for s in again.shards} == {"recorded"}
    folder = tmp_path / "corpus"  # the same files as another dataset: identical shard bytes
    datasets.add_version(ctx, OPERATOR, store, "copy", folder, "text", "CC0-1.0", "copy", 600)
    copy_built = search.build_index(ctx, OPERATOR, store, "copy")
    assert {s.status for s in copy_built.shards} == {"reused"}
    assert search.count(ctx, store, "copy", "fox").count == 4


def test_bad_input(ctx: ServiceContext, store: ArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="unknown dataset"):
        search.count(ctx, store, "nope", "x")
    add_corpus(ctx, store, tmp_path)
    with pytest.raises(NotFoundError, match="no search index"):
        search.count(ctx, store, "demo-text", "fox")
    search.build_index(ctx, OPERATOR, store, "demo-text")
    with pytest.raises(InvalidInputError, match="empty"):
        search.count(ctx, store, "demo-text", "")
    with pytest.raises(InvalidInputError, match="1 MiB"):
        search.count(ctx, store, "demo-text", "x" * (2**20 + 1))
    with pytest.raises(NotFoundError, match="no version 7"):
        search.count(ctx, store, "demo-text@7", "fox")
    with pytest.raises(InvalidInputError, match="limit"):
        search.locate(ctx, store, "demo-text", "fox", limit=0)


def test_changed_index_is_not_served(
    ctx: ServiceContext, store: ArtifactStore, tmp_path: Path
) -> None:
    indexed(ctx, store, tmp_path)
    _, version_index = search.open_version(ctx, store, "demo-text")
    text_path = version_index.shards[0].paths["text"]
    data = bytearray(text_path.read_bytes())
    data[3] ^= 0x20
    text_path.write_bytes(bytes(data))
    with pytest.raises(VerificationError, match="stale"):
        search.count(ctx, store, "demo-text", "fox")
    rebuilt = search.build_index(ctx, OPERATOR, store, "demo-text")  # repairs it
    assert rebuilt.shards[0].status == "built"
    assert search.count(ctx, store, "demo-text", "fox").count == 4


def test_opt_out_version_no_longer_finds_removed_text(
    ctx: ServiceContext, store: ArtifactStore, tmp_path: Path
) -> None:
    indexed(ctx, store, tmp_path)
    hit = search.locate(ctx, store, "demo-text", "Lorem ipsum", 1).hits[0]
    shard = store.read(hit.shard_sha256).split(b"\n")[hit.doc]
    record_sha = json.loads(shard)["sha256"]
    removal = datasets.remove_records(
        ctx, OPERATOR, store, "demo-text", [record_sha], [], "opt-out"
    )
    built = search.build_index(ctx, OPERATOR, store, f"demo-text@{removal.to_version}")
    assert built.version == 2
    assert search.count(ctx, store, "demo-text@1", "Lorem ipsum").count == 1
    assert search.count(ctx, store, "demo-text@2", "Lorem ipsum").count == 0
    assert search.count(ctx, store, "demo-text@2", "quick brown").count == 1
    assert check_replay(ctx.db).ok  # the index projection is rebuilt from the events alike


# --- proofs ------------------------------------------------------------------------------------


def proven(ctx: ServiceContext, store: ArtifactStore, tmp_path: Path, query: str) -> dict[str, Any]:
    indexed(ctx, store, tmp_path)
    return search_proof.prove(ctx, store, "demo-text", query)


def test_proof_verifies_offline(ctx: ServiceContext, store: ArtifactStore, tmp_path: Path) -> None:
    proof = proven(ctx, store, tmp_path, "lazy dog")
    key = ctx.log_signer.verifier_key if ctx.log_signer else ""
    report = verify_proof(json.loads(json.dumps(proof)), key)
    assert report.claim == "present" and report.dataset == "demo-text"
    assert any("holds the query" in line for line in report.checked)
    assert proof["occurrence"]["line_proof"]  # the shard holds more than one document
    shard_sha = json.loads(proof["dataset_manifest"])["shards"][proof["occurrence"]["shard"]]
    shard = store.read(shard_sha["sha256"])
    verify_proof(proof, key, shard_file=shard)
    assert verify_proof(proof, key, artifacts=store.root).recounted == 1
    with pytest.raises(VerificationError, match=r"^shard"):
        verify_proof(proof, key, shard_file=shard[:-2] + b"X\n")


def test_absent_proof_recounts(ctx: ServiceContext, store: ArtifactStore, tmp_path: Path) -> None:
    proof = proven(ctx, store, tmp_path, "not in the corpus")
    key = ctx.log_signer.verifier_key if ctx.log_signer else ""
    assert proof["claim"] == "absent" and proof["occurrence"] is None
    report = verify_proof(proof, key, artifacts=store.root)
    assert report.recounted == 0
    lying = dict(proof, query="fox")  # an "absent" claim about text that is there
    with pytest.raises(VerificationError, match="not absent"):
        verify_proof(lying, key, artifacts=store.root)


def _flip(text: str, at: int | None = None) -> str:
    pos = len(text) // 2 if at is None else at
    return text[:pos] + ("A" if text[pos] != "A" else "B") + text[pos + 1 :]


def _occurrence(p: dict[str, Any], key: str, change: Any) -> None:
    p["occurrence"][key] = change(p["occurrence"][key])


def _shard_entry(p: dict[str, Any], key: str) -> None:
    p["shards"][0]["entry"][key] = _flip(p["shards"][0]["entry"][key])


def _index_text(p: dict[str, Any]) -> str:
    return str(p["shards"][0]["index_manifest"])


TAMPER = [
    ("document", lambda p: _occurrence(p, "line", lambda t: t.replace("dog", "cat"))),
    ("document", lambda p: _occurrence(p, "line", lambda t: _flip(t, 8))),
    ("document", lambda p: _occurrence(p, "offset", lambda o: o + 1)),
    ("document", lambda p: _occurrence(p, "line_proof", lambda hs: [h[::-1] for h in hs])),
    ("index manifest", lambda p: p["shards"][0].update(index_manifest=_flip(_index_text(p)))),
    ("dataset manifest", lambda p: p.update(dataset_manifest=_flip(p["dataset_manifest"]))),
    ("ledger entry dataset.index_built", lambda p: _shard_entry(p, "entry")),
    (
        "ledger entry dataset.version_added",
        lambda p: p["version_entry"].update(index=p["version_entry"]["index"] + 1),
    ),
    ("checkpoint", lambda p: p.update(checkpoint=_flip(p["checkpoint"], 3))),
    ("checkpoint", lambda p: p.update(checkpoint=_flip(p["checkpoint"], len(p["checkpoint"]) - 5))),
]


@pytest.mark.parametrize(("part", "tamper"), TAMPER)
def test_tampered_proof_fails_naming_the_part(
    ctx: ServiceContext, store: ArtifactStore, tmp_path: Path, part: str, tamper: Any
) -> None:
    proof = proven(ctx, store, tmp_path, "lazy dog")
    key = ctx.log_signer.verifier_key if ctx.log_signer else ""
    verify_proof(proof, key)
    bad = copy.deepcopy(proof)
    tamper(bad)
    with pytest.raises(VerificationError, match=rf"^{part}"):
        verify_proof(bad, key)


def test_training_use_lists_runs_and_steps(
    ctx: ServiceContext, store: ArtifactStore, tmp_path: Path
) -> None:
    from pnyx.domain.models import RunRegistered
    from pnyx.services import runs

    indexed(ctx, store, tmp_path)
    version = datasets.get_version(ctx, "demo-text")
    hit = search.locate(ctx, store, "demo-text", "Lorem ipsum", 1).hits[0]
    header = {"order_file": 1, "datasets": [{"dataset": "demo-text", "version": 1,
              "manifest_sha256": version.manifest_sha256}]}  # fmt: skip
    steps = [
        {"step": 1, "epoch": 0, "sequences": [[[0, hit.global_doc, 0, 8]]]},
        {"step": 2, "epoch": 0, "sequences": [[[0, hit.global_doc + 1, 0, 8]]]},
        {"step": 3, "epoch": 1, "sequences": [[[0, 0, 0, 4], [0, hit.global_doc, 8, 12]]]},
    ]
    order = "".join(json.dumps(x) + "\n" for x in [header, *steps]).encode()
    order_sha = store.put_bytes(order)
    for run_id, sha in (("run-a", order_sha), ("run-b", "0" * 64)):
        runs.record_run(ctx, OPERATOR, RunRegistered(
            run_id=run_id, job_id=None, project_id=None, award_id=None, resolution_id=None,
            containment="CL-1", manifest_sha256="1" * 64, order_sha256=sha, code_version="t",
            world_size=1, hardware="cpu", steps=3, config={},
            datasets=[{"dataset": "demo-text", "version": 1,
                       "manifest_sha256": version.manifest_sha256}],
        ))  # fmt: skip
    uses = {u.run_id: u for u in search.training_use(ctx, store, "demo-text", hit.global_doc)}
    assert uses["run-a"].steps == [1, 3]
    assert uses["run-b"].steps is None and "not readable" in (uses["run-b"].note or "")
    with pytest.raises(InvalidInputError, match="outside"):
        search.training_use(ctx, store, "demo-text", 99)
