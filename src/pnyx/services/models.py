"""Use cases for models: register a version from a run's output, release it, list, show and
download it with every file checked against the hashes on the record."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.remote_store import open_artifact_store
from pnyx.domain import model_card
from pnyx.domain import models as m
from pnyx.domain.containment import parse_containment
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.errors import InvalidInputError, NotFoundError, VerificationError
from pnyx.services.context import ServiceContext
from pnyx.services.models_dto import (
    DownloadView,
    EvalReportView,
    ModelVersionView,
)
from pnyx.services.record import record
from pnyx.settings import Settings
from pnyx.store import models_repo as repo

CARD = "README.md"
CHECKSUMS = "SHA256SUMS"
WEIGHT_SUFFIXES = (".json", ".safetensors", ".txt", ".model")
# Who may fetch a model version that is not public (yet); every such download is an event.
PRIVATE_READERS = (Role.OPERATOR, Role.RESEARCHER, Role.SAFETY_OFFICER)


def artifact_store(data_dir: Path) -> ArtifactStore:
    """The artifact store of a data directory: ``DATA/artifacts`` unless PNYX_ARTIFACTS_DIR
    moves it or PNYX_ARTIFACTS_URL puts it at an fsspec URL (the same rule as datasets)."""
    settings = Settings(data_dir=Path(data_dir))
    return open_artifact_store(settings.artifacts_root, settings.artifacts_url)


# --- registration -----------------------------------------------------------------------------


def register_model_version(
    ctx: ServiceContext,
    actor: Actor,
    store: ArtifactStore,
    run_id: str,
    model_dir: Path,
    name: str,
    license: str,
    description: str,
) -> ModelVersionView:
    """Store the HF-format files in ``model_dir`` as artifacts and register them as the next
    version of model ``name``, with the run's lineage and a generated card (operators,
    researchers)."""
    require_role(actor, Role.OPERATOR, Role.RESEARCHER)
    name = m.parse_model_name(name)
    files = _store_files(store, Path(model_dir))
    params = count_parameters(Path(model_dir))
    with ctx.db.transaction() as conn:
        run = repo.run_row(conn, run_id)
        if run is None:
            raise NotFoundError(f"run {run_id!r} does not exist")
        version = repo.latest_version(conn, name) + 1
        row: dict[str, Any] = {
            "model": name,
            "version": version,
            "run_id": run_id,
            "license": license,
            "containment": run["containment"],
            "params": params,
            "description": description,
            "lineage": m.lineage_of(run),
            "files": files,
        }
        card_sha = store.put_bytes(model_card.render_card(row, []).encode())
        event = m.ModelVersionRegistered(**row, card_sha256=card_sha)
        record(conn, ctx, actor, [event])
        return _view(conn, name, version)


def _store_files(store: ArtifactStore, model_dir: Path) -> list[dict[str, Any]]:
    if not (model_dir / "config.json").is_file():
        raise InvalidInputError(f"{model_dir} is not an HF model directory: no config.json")
    paths = sorted(
        p
        for p in model_dir.iterdir()
        if p.is_file() and p.name not in (CARD, CHECKSUMS) and p.suffix in WEIGHT_SUFFIXES
    )
    if not any(p.suffix == ".safetensors" for p in paths):
        raise InvalidInputError(f"{model_dir} has no safetensors weights")
    return [{"path": p.name, "sha256": store.put_file(p), "bytes": p.stat().st_size} for p in paths]


def count_parameters(model_dir: Path) -> int:
    """Parameters in the safetensors files of ``model_dir`` (read from their headers)."""
    total = 0
    for path in sorted(model_dir.glob("*.safetensors")):
        with path.open("rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size))
        for key, info in header.items():
            if key != "__metadata__":
                n = 1
                for dim in info["shape"]:
                    n *= int(dim)
                total += n
    return total


# --- reading ----------------------------------------------------------------------------------


def list_models(ctx: ServiceContext, *, include_unreleased: bool = False) -> list[ModelVersionView]:
    """Model versions, newest first: released ones, or all of them."""
    with ctx.db.read() as conn:
        rows = repo.version_rows(conn, released_only=not include_unreleased)
        return [_view(conn, r["model"], r["version"]) for r in rows]


def get_model(ctx: ServiceContext, ref: str) -> ModelVersionView:
    """A model version by ``NAME@N``, or the newest version of ``NAME``."""
    with ctx.db.read() as conn:
        model, version = resolve(conn, ref)
        return _view(conn, model, version)


def resolve(conn: Connection, ref: str) -> tuple[str, int]:
    """(model, version) named by ``NAME@N`` or ``NAME`` (its newest version)."""
    if "@" in ref:
        model, version = m.parse_version_id(ref)
    else:
        model = m.parse_model_name(ref)
        version = repo.latest_version(conn, model)
    if repo.version_row(conn, model, version) is None:
        raise NotFoundError(f"model version {ref!r} does not exist")
    return model, version


def _view(conn: Connection, model: str, version: int) -> ModelVersionView:
    row = repo.version_row(conn, model, version)
    assert row is not None
    evals = [
        EvalReportView(**_pick(e, EvalReportView)) for e in repo.eval_rows(conn, model, version)
    ]
    return ModelVersionView(
        id=m.format_version_id(model, version), **_pick(row, ModelVersionView), evaluations=evals
    )


def _pick(row: Mapping[str, Any], cls: Any) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k in cls.model_fields and k != "evaluations"}


# --- release ----------------------------------------------------------------------------------


def release_model(
    ctx: ServiceContext, actor: Actor, store: ArtifactStore, ref: str
) -> ModelVersionView:
    """Release a model version after the gate of its containment level (operators, safety
    officers); the card is regenerated with the evaluation results."""
    require_role(actor, Role.OPERATOR, Role.SAFETY_OFFICER)
    with ctx.db.transaction() as conn:
        model, version = resolve(conn, ref)
        row = repo.version_row(conn, model, version)
        assert row is not None
        run = repo.run_row(conn, row["run_id"])
        assert run is not None
        evals = repo.eval_rows(conn, model, version)
        card_sha = store.put_bytes(model_card.render_card(row, evals).encode())
        open_ = repo.openness(conn, run["award_id"]) if run["award_id"] else None
        facts = m.ReleaseFacts(
            model=model,
            version=version,
            containment=parse_containment(row["containment"]),
            released=row["released"],
            suites=frozenset(e["suite"] for e in evals),
            weights_open=open_[0] if open_ else None,
            data_open=open_[1] if open_ else None,
            approvals=repo.release_approvals(conn, model),
            card_sha256=card_sha,
        )
        record(conn, ctx, actor, [m.check_release(facts)])
        return _view(conn, model, version)


# --- download ---------------------------------------------------------------------------------


def fetch_files(
    ctx: ServiceContext, actor: Actor, store: ArtifactStore, ref: str
) -> tuple[ModelVersionView, dict[str, bytes], bool]:
    """(the version, path -> verified bytes incl. README.md and SHA256SUMS, recorded).

    Anyone may fetch a released model; a model that is not public may be fetched by operators,
    researchers and safety officers (CL-3/CL-4: safety officers only), and each such fetch is
    recorded as a ``model.downloaded`` event. Bytes that no longer match their recorded hash
    are refused (ArtifactIntegrityError), never served.
    """
    with ctx.db.read() as conn:
        model, version = resolve(conn, ref)
        view = _view(conn, model, version)
    if not view.released:
        level = parse_containment(view.containment)
        require_role(actor, *((Role.SAFETY_OFFICER,) if level.rank >= 3 else PRIVATE_READERS))
    data = {f.path: store.read(f.sha256) for f in view.files}
    data[CARD] = store.read(view.card_sha256)
    data[CHECKSUMS] = render_checksums(data).encode()
    recorded = False
    if not view.released:
        with ctx.db.transaction() as conn:
            event = m.ModelDownloaded(model, version, view.containment)
            record(conn, ctx, actor, [event])
        recorded = True
    return view, data, recorded


def download_model(
    ctx: ServiceContext, actor: Actor, store: ArtifactStore, ref: str, out: Path
) -> DownloadView:
    """Write the version's HF-format directory to ``out`` and check every file's hash."""
    view, data, recorded = fetch_files(ctx, actor, store, ref)
    write_directory(data, Path(out))
    verify_directory(Path(out), {f.path: f.sha256 for f in view.files})
    return DownloadView(
        id=view.id, out=str(out), files=view.files, verified=True, recorded=recorded
    )


def archive_model(
    ctx: ServiceContext, actor: Actor, store: ArtifactStore, ref: str
) -> tuple[ModelVersionView, bytes]:
    """The version's directory as a gzipped tar (``NAME-N/`` + files + SHA256SUMS)."""
    view, data, _ = fetch_files(ctx, actor, store, ref)
    return view, render_archive(f"{view.model}-{view.version}", data)


def render_checksums(data: Mapping[str, bytes]) -> str:
    """sha256sum-style lines for every file (sorted by path)."""
    return "".join(
        f"{hashlib.sha256(data[p]).hexdigest()}  {p}\n" for p in sorted(data) if p != CHECKSUMS
    )


def render_archive(prefix: str, data: Mapping[str, bytes]) -> bytes:
    """A deterministic .tar.gz of ``data`` under ``prefix/``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(data):
            info = tarfile.TarInfo(f"{prefix}/{path}")
            info.size = len(data[path])
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data[path]))
    return buf.getvalue()


def write_directory(data: Mapping[str, bytes], out: Path) -> None:
    """Write the files into ``out`` (created; existing files of the same name are replaced)."""
    out.mkdir(parents=True, exist_ok=True)
    for path, content in data.items():
        if "/" in path or path.startswith("."):
            raise InvalidInputError(f"refusing to write file {path!r} outside {out}")
        (out / path).write_bytes(content)


def verify_directory(out: Path, expected: Mapping[str, str]) -> None:
    """Raise VerificationError unless every file in ``expected`` and every line of SHA256SUMS
    matches the bytes on disk."""
    sums = parse_checksums((out / CHECKSUMS).read_text())
    for path, sha in {**sums, **expected}.items():
        if sums.get(path, sha) != sha:
            raise VerificationError(
                f"{CHECKSUMS} lists {sums[path]} for {path}, the record says {sha}"
            )
        target = out / path
        if not target.is_file():
            raise VerificationError(f"{path} is missing from {out}")
        actual = hashlib.sha256(target.read_bytes()).hexdigest()
        if actual != sha:
            raise VerificationError(f"{path} hashes to {actual}, expected {sha}")


def parse_checksums(text: str) -> dict[str, str]:
    """path -> sha256 from sha256sum-style lines."""
    out: dict[str, str] = {}
    for i, line in enumerate(text.splitlines()):
        sha, sep, path = line.partition("  ")
        if not sep or len(sha) != 64:
            raise VerificationError(f"{CHECKSUMS} line {i + 1} is malformed: {line!r}")
        if path in out:
            raise VerificationError(f"{CHECKSUMS} lists {path} twice")
        out[path] = sha
    return out
