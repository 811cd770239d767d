"""Datasets on the record: versions (bound to their manifest hash), opt-out removals and failed
shard checks. Pure decisions; the manifest's bytes live in the artifact store.

A ``dataset.version_added`` event carries the whole manifest and its hash (SHA-256 of its RFC
8785 bytes, which are also the stored manifest artifact's bytes), so the chain document -> shard
hash -> manifest -> ledger entry -> signed checkpoint can be followed from the log alone. A
``dataset.records_removed`` event keeps only the removed records' hashes and the reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

from pnyx.domain.events import Event, canonical_json, event_type
from pnyx.errors import ConflictError, InvalidInputError

MODALITIES = ("text", "code", "image", "audio", "video")


def check_license(license_id: str) -> str:
    """The canonical SPDX form of ``license_id`` (an id or expression); else InvalidInputError."""
    try:
        return str(canonicalize_license_expression(license_id))
    except InvalidLicenseExpression as e:
        raise InvalidInputError(
            f"licence {license_id!r} is not an SPDX licence id or expression (e.g. PSF-2.0, "
            f"CC-BY-4.0, MIT OR Apache-2.0; see https://spdx.org/licenses/): {e}"
        ) from e


def hash_manifest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's RFC 8785 bytes (equals ``pnyx.data.manifest.manifest_hash``)."""
    return hashlib.sha256(canonical_json(manifest)).hexdigest()


@event_type
@dataclass(frozen=True)
class DatasetVersionAdded(Event):
    """A dataset version: its manifest, the manifest's hash and the manifest artifact's hash."""

    KIND = "dataset.version_added"
    dataset: str
    version: int
    parent: int | None
    manifest_sha256: str
    manifest_artifact: str
    manifest: dict[str, Any]


@event_type
@dataclass(frozen=True)
class DatasetRecordsRemoved(Event):
    """An opt-out: records left out of ``to_version``; only their hashes and the reason are kept.

    ``affected_runs`` are the runs (or jobs, see ``affected_basis``) that used ``from_version``
    when the removal was recorded.
    """

    KIND = "dataset.records_removed"
    dataset: str
    from_version: int
    to_version: int
    removed: list[dict[str, str]]
    reason: str
    affected_runs: list[str]
    affected_basis: str


@event_type
@dataclass(frozen=True)
class DatasetShardCheckFailed(Event):
    """A shard of a version was missing or its bytes no longer matched its hash."""

    KIND = "dataset.shard_check_failed"
    dataset: str
    version: int
    shard_sha256: str
    problem: str


def decide_add_version(
    manifest: dict[str, Any], manifest_artifact: str, latest_version: int | None
) -> DatasetVersionAdded:
    """The event that records ``manifest`` as the dataset's next version."""
    name, version, parent = manifest["dataset"], manifest["version"], manifest["parent"]
    expected = (latest_version or 0) + 1
    if version != expected:
        raise ConflictError(
            f"dataset {name}: the next version is {expected}, the manifest says {version}"
        )
    if manifest["modality"] not in MODALITIES:
        raise InvalidInputError(f"unknown modality {manifest['modality']!r}")
    if check_license(manifest["license"]) != manifest["license"]:
        raise InvalidInputError(f"licence must be in canonical SPDX form: {manifest['license']}")
    if parent is not None and not 1 <= parent < version:
        raise InvalidInputError(f"dataset {name}: parent {parent} is not an earlier version")
    digest = hash_manifest(manifest)
    if manifest_artifact != digest:
        raise InvalidInputError(
            f"manifest artifact {manifest_artifact} is not the manifest's hash {digest}"
        )
    return DatasetVersionAdded(name, version, parent, digest, manifest_artifact, manifest)


def decide_removal(
    parent: dict[str, Any],
    child: dict[str, Any],
    removed: list[dict[str, str]],
    reason: str,
    affected_runs: list[str],
    affected_basis: str,
) -> DatasetRecordsRemoved:
    """The removal event linking version ``parent`` to the new version ``child``."""
    if not removed:
        raise InvalidInputError("a removal must remove at least one record")
    if child["parent"] != parent["version"] or child["dataset"] != parent["dataset"]:
        raise InvalidInputError("the new version must be a child of the version it removes from")
    return DatasetRecordsRemoved(
        parent["dataset"], parent["version"], child["version"], removed, reason,
        sorted(affected_runs), affected_basis,
    )  # fmt: skip


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"name@3"`` -> ("name", 3); ``"name"`` -> ("name", None) (the latest version)."""
    name, sep, version = ref.partition("@")
    if not sep:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise InvalidInputError(f"bad dataset reference {ref!r}: expected NAME or NAME@VERSION")
    return name, int(version)
