"""Model registry: lineage, card, evaluation, release gate, download with verified checksums."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from tests.integration.jobs_setup import build_world, request
from tests.integration.models_setup import DOCS, make_dataset, make_run_output

from pnyx.data.artifacts import ArtifactIntegrityError, ArtifactStore
from pnyx.domain import council_events as ce
from pnyx.domain import models as m
from pnyx.domain.identity import Actor, Role
from pnyx.errors import ConflictError, PermissionDeniedError
from pnyx.services import evaluation, jobs, models, runs
from pnyx.services.context import ServiceContext
from pnyx.services.record import record
from pnyx.store import tables as t
from pnyx.store.replay import check_replay

SYSTEM = Actor.system()
SEEN = [[0, 1], [2, 3]]  # documents 0-3 were trained on


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")


def registered(ctx: ServiceContext, store: ArtifactStore, tmp_path: Path, **extra: object) -> str:
    """A job of project alpha, its run and model version 1; returns the version id."""
    world = build_world(ctx)
    job = jobs.submit_job(ctx, world.alice, request(world))
    out = make_run_output(tmp_path / "run", make_dataset(store), SEEN, **extra)
    run = runs.register_run_dir(ctx, SYSTEM, store, out, job.job_id)
    view = models.register_model_version(
        ctx, SYSTEM, store, run.run_id, out / "model", "tiny-lm", "Apache-2.0", "A tiny test model."
    )
    return view.id


def count_events(ctx: ServiceContext, kind: str) -> int:
    with ctx.db.read() as conn:
        stmt = select(func.count()).select_from(t.events).where(t.events.c.kind == kind)
        return int(conn.execute(stmt).scalar() or 0)


def front_matter(card: bytes) -> dict[str, object]:
    text = card.decode()
    assert text.startswith("---\n")
    return dict(yaml.safe_load(text.split("---\n")[1]))


def test_lineage_and_card(ctx: ServiceContext, store: ArtifactStore, tmp_path: Path) -> None:
    vid = registered(ctx, store, tmp_path)
    view = models.get_model(ctx, vid)
    assert vid == "tiny-lm@1" and models.get_model(ctx, "tiny-lm").id == vid
    run = runs.get_run(ctx, view.run_id)
    assert run.job_id == "j-000001" and run.award_id == view.lineage["award_id"]
    assert run.models == [vid] and run.metric_points == 2 and run.last_loss == 5.5
    assert view.lineage["datasets"] == [
        {"dataset": "tinycode", "version": 1, "manifest_sha256": run.datasets[0].manifest_sha256}
    ]
    assert view.lineage["run_manifest_sha256"] == run.manifest_sha256
    assert store.exists(run.manifest_sha256) and store.exists(run.order_sha256)
    assert [r.run_id for r in runs.runs_using_dataset(ctx, "tinycode", 1)] == [run.run_id]
    assert view.params > 0 and {f.path for f in view.files} >= {"config.json", "tokenizer.json"}
    meta = front_matter(store.read(view.card_sha256))
    assert meta["license"] == "apache-2.0" and meta["datasets"] == ["tinycode@1"]
    lineage = meta["pnyx"]["lineage"]  # type: ignore[index]
    assert lineage["award_id"] == run.award_id and lineage["job_id"] == "j-000001"
    assert "model-index" not in meta  # no evaluation yet
    assert check_replay(ctx.db).ok


def test_evaluate_release_download(
    ctx: ServiceContext, store: ArtifactStore, tmp_path: Path
) -> None:
    vid = registered(ctx, store, tmp_path)
    with pytest.raises(ConflictError, match="evaluation report"):
        models.release_model(ctx, SYSTEM, store, vid)
    reports = evaluation.evaluate_model(ctx, SYSTEM, store, vid)
    assert [r.suite for r in reports] == [m.HELDOUT_SUITE, m.MC_SUITE]
    heldout = store.read(reports[0].report_sha256).decode()
    seen_hashes = {models_doc_sha(i) for i in range(4)}
    assert not any(h in heldout for h in seen_hashes)  # only documents the run never saw
    assert models_doc_sha(4) in heldout and reports[0].metrics["documents"] == len(DOCS) - 4
    assert 0.0 <= reports[1].metrics["acc"] <= 1.0 and reports[1].metrics["n"] >= 40
    with pytest.raises(PermissionDeniedError):
        models.release_model(ctx, Actor.public(), store, vid)
    released = models.release_model(ctx, SYSTEM, store, vid)
    assert released.released and released.release_gate == [
        "eval:heldout-perplexity",
        "eval:multiple-choice",
        "openness:weights+data",
    ]
    meta = front_matter(store.read(released.card_sha256))
    results = meta["model-index"][0]["results"]  # type: ignore[index]
    assert {r["task"]["name"] for r in results} == {m.HELDOUT_SUITE, m.MC_SUITE}
    with pytest.raises(ConflictError, match="already released"):
        models.release_model(ctx, SYSTEM, store, vid)
    assert [v.id for v in models.list_models(ctx)] == [vid]

    out = tmp_path / "download"
    result = models.download_model(ctx, Actor.public(), store, vid, out)
    assert result.verified and not result.recorded
    assert (out / "README.md").read_bytes() == store.read(released.card_sha256)
    assert "config.json" in (out / "SHA256SUMS").read_text()
    assert count_events(ctx, m.ModelDownloaded.KIND) == 0
    assert check_replay(ctx.db).ok


def models_doc_sha(i: int) -> str:
    import hashlib

    return hashlib.sha256(DOCS[i].encode()).hexdigest()


def test_tampered_weights_are_refused(
    ctx: ServiceContext, store: ArtifactStore, tmp_path: Path
) -> None:
    vid = registered(ctx, store, tmp_path)
    weights = next(f for f in models.get_model(ctx, vid).files if f.path.endswith(".safetensors"))
    path = store.path(weights.sha256)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactIntegrityError, match=weights.sha256):
        models.download_model(ctx, SYSTEM, store, vid, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert count_events(ctx, m.ModelDownloaded.KIND) == 0  # nothing was served


def test_non_public_download_is_an_event(
    ctx: ServiceContext, store: ArtifactStore, tmp_path: Path
) -> None:
    vid = registered(ctx, store, tmp_path)
    with pytest.raises(PermissionDeniedError):
        models.download_model(ctx, Actor.public(), store, vid, tmp_path / "public")
    assert count_events(ctx, m.ModelDownloaded.KIND) == 0
    researcher = Actor("alice", frozenset({Role.RESEARCHER}), "de")
    result = models.download_model(ctx, researcher, store, vid, tmp_path / "out")
    assert result.recorded and result.verified
    assert count_events(ctx, m.ModelDownloaded.KIND) == 1
    assert models.get_model(ctx, vid).downloads == 1
    assert check_replay(ctx.db).ok


def test_release_without_award_is_refused(
    ctx: ServiceContext, store: ArtifactStore, tmp_path: Path
) -> None:
    out = make_run_output(tmp_path / "run", make_dataset(store), SEEN)
    run = runs.register_run_dir(ctx, SYSTEM, store, out)
    assert run.award_id is None and run.job_id is None
    vid = models.register_model_version(
        ctx, SYSTEM, store, run.run_id, out / "model", "orphan", "MIT", "No award."
    ).id
    _fake_evaluations(ctx, vid)
    with pytest.raises(PermissionDeniedError, match="no award"):
        models.release_model(ctx, SYSTEM, store, vid)


def test_cl3_release_needs_council(
    ctx: ServiceContext, store: ArtifactStore, tmp_path: Path
) -> None:
    vid = registered(ctx, store, tmp_path)
    with ctx.db.transaction() as conn:  # the run was contained at CL-3
        conn.execute(t.metadata.tables["model_versions"].update().values(containment="CL-3"))
    _fake_evaluations(ctx, vid)
    researcher = Actor("alice", frozenset({Role.RESEARCHER}), "de")
    with pytest.raises(PermissionDeniedError, match="safety-officer"):
        models.download_model(ctx, researcher, store, vid, tmp_path / "sealed")
    officer = Actor("safe", frozenset({Role.SAFETY_OFFICER}))
    assert models.download_model(ctx, officer, store, vid, tmp_path / "sealed").recorded
    with pytest.raises(PermissionDeniedError, match="approve-release"):
        models.release_model(ctx, SYSTEM, store, vid)
    with ctx.db.transaction() as conn:  # what an enacted approve-release resolution records
        record(conn, ctx, SYSTEM, [ce.ReleaseApproved("r-9", "tiny-lm", "CL-3")])
    view = models.release_model(ctx, SYSTEM, store, vid)
    assert view.release_resolution_id == "r-9" and "council:r-9" in (view.release_gate or [])


def _fake_evaluations(ctx: ServiceContext, vid: str) -> None:
    model, version = m.parse_version_id(vid)
    with ctx.db.transaction() as conn:
        events = [
            m.ModelEvaluated(model, version, suite, "00" * 32, {"n": 1})
            for suite in m.REQUIRED_SUITES
        ]
        record(conn, ctx, SYSTEM, events)
