"""Datasets: ingest every modality, manifest figures, tamper refusal, opt-out, Croissant, replay,
bad input writes nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.integration.datasets_setup import small_corpora

from pnyx.data.artifacts import ArtifactIntegrityError, ArtifactStore
from pnyx.data.corpora import Corpus
from pnyx.data.manifest import manifest_hash, parse_manifest
from pnyx.data.media import audio_info, image_info
from pnyx.data.shards import read_media_shard, read_text_shard
from pnyx.data.tokens import count_tokens
from pnyx.domain import models as m
from pnyx.domain.identity import Actor
from pnyx.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from pnyx.services import datasets, runs
from pnyx.services.context import ServiceContext
from pnyx.store import tables as t
from pnyx.store.replay import check_replay


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Corpus]:
    return small_corpora(tmp_path_factory.mktemp("corpora"))


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")


def add(
    ctx: ServiceContext, store: ArtifactStore, c: Corpus, **kw: int
) -> datasets.DatasetVersionView:
    return datasets.add_version(
        ctx, Actor.system(), store, c.name, c.path, c.modality, c.license, c.source, **kw
    )


def event_count(ctx: ServiceContext) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)


def test_text_and_code_manifest_figures(
    ctx: ServiceContext, store: ArtifactStore, corpora: dict[str, Corpus]
) -> None:
    for modality in ("code", "text"):
        c = corpora[modality]
        v = add(ctx, store, c, shard_limit_bytes=8_000)
        manifest = parse_manifest(store.read(v.manifest_artifact))
        assert manifest == v.manifest
        assert manifest_hash(manifest) == v.manifest_sha256 == v.manifest_artifact
        records = [r for s in manifest["shards"] for r in read_text_shard(store.read(s["sha256"]))]
        files = sorted(p for p in c.path.rglob("*") if p.is_file())
        assert len(records) == manifest["records"] == len(files)
        assert len(manifest["shards"]) > 1  # the size limit split the shards
        assert all(s["bytes"] <= 8_000 or s["records"] == 1 for s in manifest["shards"])
        assert manifest["bytes"] == sum(len(store.read(s["sha256"])) for s in manifest["shards"])
        assert manifest["tokens"] == count_tokens(r.text for r in records)
        assert manifest["tokens"]["cl100k_base"] > manifest["metadata"]["characters"] // 10
        assert manifest["license"] == "PSF-2.0" and manifest["modality"] == modality
        for r in records:
            assert r.sha256 == hashlib.sha256(r.text.encode()).hexdigest()
            assert r.source.endswith("/" + r.id)
    code = [r for r in records if r.id.endswith(".py")]
    assert not code  # the last loop was text: HTML pages became text
    assert all("<div" not in r.text for r in records)


def test_media_manifest_figures(
    ctx: ServiceContext, store: ArtifactStore, corpora: dict[str, Corpus]
) -> None:
    image = add(ctx, store, corpora["image"]).manifest
    samples = [s for sh in image["shards"] for s in read_media_shard(store.read(sh["sha256"]))]
    pngs = sorted(corpora["image"].path.rglob("*.png"))
    assert [s.data for s in samples] == [p.read_bytes() for p in pngs]
    widths = [image_info(p.read_bytes())["width"] for p in pngs]
    assert image["metadata"]["width"] == {"min": min(widths), "max": max(widths)}
    assert image["shards"][0]["format"] == "tar" and image["tokens"] == {}

    audio = add(ctx, store, corpora["audio"]).manifest
    wavs = sorted(corpora["audio"].path.glob("*.wav"))
    infos = [audio_info(p.read_bytes()) for p in wavs]
    assert audio["records"] == 2
    assert audio["metadata"]["duration_ms"] == sum(i["duration_ms"] for i in infos) > 500
    assert audio["metadata"]["sample_rates_hz"] == {"22050": 2}

    video = add(ctx, store, corpora["video"]).manifest
    assert video["metadata"]["frames"] == 8 + 12
    assert video["metadata"]["width"] == {"min": 32, "max": 32}


def test_tampered_shard_is_reported_recorded_and_refused(
    ctx: ServiceContext, store: ArtifactStore, corpora: dict[str, Corpus]
) -> None:
    v = add(ctx, store, corpora["code"])
    assert datasets.verify_version(ctx, Actor.system(), store, v.dataset, None).ok
    bad = v.shards[0].sha256
    path = store.path(bad)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"def ", b"fed ", 1))
    report = datasets.verify_version(ctx, Actor.system(), store, v.dataset, 1)
    assert not report.ok and report.recorded_failures == 1
    assert [c.sha256 for c in report.shards if not c.ok] == [bad]
    with pytest.raises(ArtifactIntegrityError, match=bad):
        datasets.read_shard(ctx, store, v.dataset, 1, bad)
    shown = datasets.get_version(ctx, v.dataset, 1)
    assert shown.shards[0].problem is not None and shown.shards[0].problem.startswith("corrupt")
    # a second check of the same damage records nothing new
    again = datasets.verify_version(ctx, Actor.system(), store, v.dataset, 1)
    assert again.recorded_failures == 0
    # removal must read every shard: the tampered one is refused, nothing is written
    before = event_count(ctx)
    with pytest.raises(ArtifactIntegrityError):
        datasets.remove_records(ctx, Actor.system(), store, v.dataset, ["0" * 64], [], "x")
    assert event_count(ctx) == before


def _register_run(
    ctx: ServiceContext, run_id: str, name: str, v: datasets.DatasetVersionView
) -> None:
    ds = [{"dataset": name, "version": v.version, "manifest_sha256": v.manifest_sha256}]
    event = m.RunRegistered(
        run_id, None, None, None, None, "CL-1", "a" * 64, "b" * 64, "test", 1, "cpu", 1, {}, ds
    )
    runs.record_run(ctx, Actor.system(), event)


def test_opt_out_makes_a_new_version_and_keeps_only_the_hash(
    ctx: ServiceContext, store: ArtifactStore, corpora: dict[str, Corpus]
) -> None:
    c = corpora["code"]
    v1 = add(ctx, store, c)
    _register_run(ctx, "run-a", c.name, v1)
    records = read_text_shard(store.read(v1.shards[0].sha256))
    target, by_url = records[1], records[2]
    result = datasets.remove_records(
        ctx, Actor.system(), store, c.name, [target.sha256], [by_url.source], "opt-out #7"
    )
    assert result.from_version == 1 and result.to_version == 2
    assert sorted(result.removed) == sorted([target.sha256, by_url.sha256])
    assert result.affected_runs == ["run-a"] and result.affected_basis == "runs"
    v2 = result.version
    assert v2.parent == 1 and v2.records == v1.records - 2
    left = [r for s in v2.shards for r in read_text_shard(store.read(s.sha256))]
    assert target.sha256 not in {r.sha256 for r in left}
    assert {r["sha256"] for r in v2.manifest["removed"]} == set(result.removed)
    # the ledger holds the hashes and the reason, never the removed text or its source URL
    with ctx.db.read() as conn:
        entries = [str(e) for (e,) in conn.execute(select(t.events.c.entry))]
    removal = [json.loads(e) for e in entries if "dataset.records_removed" in e]
    assert len(removal) == 1
    assert {r["sha256"] for r in removal[0]["body"]["removed"]} == set(result.removed)
    blob = "".join(entries)
    assert json.dumps(target.text[:100])[1:-1] not in blob
    assert by_url.source not in blob and target.source not in blob
    # a later ingest of the same files keeps the removed records out
    v3 = add(ctx, store, c)
    assert v3.records == v2.records and v3.parent == 2
    # the old version stays readable (it is history); runs used it
    assert datasets.get_version(ctx, c.name, 1).records == v1.records
    with pytest.raises(InvalidInputError, match="matches"):
        datasets.remove_records(ctx, Actor.system(), store, c.name, [target.sha256], [], "again")


def test_croissant_has_the_required_keys_and_matching_hashes(
    ctx: ServiceContext, store: ArtifactStore, corpora: dict[str, Corpus]
) -> None:
    for modality in ("text", "audio"):
        v = add(ctx, store, corpora[modality], shard_limit_bytes=30_000)
        doc = datasets.croissant(ctx, v.dataset, None, "https://pnyx.example")
        for key in ("@context", "@type", "conformsTo", "name", "license", "distribution",
                    "recordSet", "version"):  # fmt: skip
            assert key in doc, key
        assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.0"
        assert doc["@context"]["cr"] == "http://mlcommons.org/croissant/"
        assert doc["license"].endswith(f"/{v.license}.html")
        files = [f for f in doc["distribution"] if f["@type"] == "cr:FileObject"]
        assert [f["sha256"] for f in files] == [s.sha256 for s in v.shards]
        for f in files:
            assert hashlib.sha256(store.read(f["sha256"])).hexdigest() == f["sha256"]
        assert doc["recordSet"][0]["field"]


def test_replay_agrees(
    ctx: ServiceContext, store: ArtifactStore, corpora: dict[str, Corpus]
) -> None:
    v = add(ctx, store, corpora["code"])
    add(ctx, store, corpora["image"])
    path = store.path(v.shards[0].sha256)
    path.write_bytes(b"broken")
    datasets.verify_version(ctx, Actor.system(), store, v.dataset, 1)
    store.put_bytes(b"")  # unrelated artifact
    report = check_replay(ctx.db)
    assert report.ok, report.as_dict()
    assert report.rows["dataset_shards"] >= 2


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"modality": "smell"}, InvalidInputError, "unknown modality"),
        ({"license_id": "Not-A-Licence"}, InvalidInputError, "not an SPDX"),
        ({"path": Path("/nonexistent/pnyx")}, NotFoundError, "no such file"),
        ({"name": "Bad Name!"}, InvalidInputError, "bad dataset name"),
        ({"source": " "}, InvalidInputError, "--source"),
        ({"modality": "image"}, InvalidInputError, "no image files"),
    ],
)
def test_bad_input_writes_nothing(
    ctx: ServiceContext,
    store: ArtifactStore,
    corpora: dict[str, Corpus],
    change: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    c = corpora["code"]
    args: dict[str, object] = {
        "name": c.name, "path": c.path, "modality": "code", "license_id": "PSF-2.0",
        "source": c.source,
    } | change  # fmt: skip
    with pytest.raises(error, match=message):
        datasets.add_version(ctx, Actor.system(), store, **args)  # type: ignore[arg-type]
    assert event_count(ctx) == 0
    assert not (store.root / "sha256").exists()


def test_empty_dir_and_public_actor(
    ctx: ServiceContext, store: ArtifactStore, tmp_path: Path, corpora: dict[str, Corpus]
) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="no code files"):
        datasets.add_version(ctx, Actor.system(), store, "e", tmp_path / "empty", "code",
                             "MIT", "x")  # fmt: skip
    c = corpora["code"]
    with pytest.raises(PermissionDeniedError):
        datasets.add_version(ctx, Actor.public(), store, c.name, c.path, "code", "MIT", "x")
    v = add(ctx, store, c)
    with pytest.raises(PermissionDeniedError):
        datasets.remove_records(ctx, Actor.public(), store, c.name, [v.shards[0].sha256], [], "x")
    assert event_count(ctx) == 1
