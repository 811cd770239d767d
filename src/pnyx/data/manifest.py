"""Dataset version manifests: what a version is made of, hashed so the ledger can bind it.

A manifest is a JSON object::

    {"dataset", "version", "modality", "license", "source", "parent",
     "shards": [{"sha256", "bytes", "records", "format"}], "records", "bytes",
     "tokens": {tokenizer: int}, "metadata": {...}, "removed": [{"sha256", "reason"}]}

``manifest_hash`` is the SHA-256 of its RFC 8785 (JCS) bytes. Manifests hold no floating-point
numbers and only ASCII object keys, so the standard library's sorted compact encoding *is* the
JCS encoding (the same fast path as :func:`pnyx.domain.events.canonical_json`); values outside
that subset are refused rather than encoded differently.

Documents are numbered across a version in manifest shard order, then line order:
``global = offset_of_shard + doc`` (:func:`shard_offsets`, :func:`locate`).

Standard library only: the training recipe imports this on machines that have only torch.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from typing import Any

from pnyx.errors import InvalidInputError

MODALITIES = ("text", "code", "image", "audio", "video")
FORMATS = ("jsonl", "tar")
_MAX_SAFE_INT = 2**53 - 1
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KEYS = frozenset(
    {"dataset", "version", "modality", "license", "source", "parent", "shards", "records",
     "bytes", "tokens", "metadata", "removed"}
)  # fmt: skip
_SHARD_KEYS = frozenset({"sha256", "bytes", "records", "format"})


def check_name(name: str) -> str:
    """``name`` if it is a valid dataset name (lowercase letters, digits, ``._-``; <= 64)."""
    if not _NAME.match(name):
        raise InvalidInputError(
            f"bad dataset name {name!r}: use 1-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def _check_jcs_subset(value: Any, where: str) -> None:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return
    if kind is int:
        if not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            raise InvalidInputError(f"manifest {where}: integer {value} is out of the safe range")
        return
    if kind is list:
        for i, item in enumerate(value):
            _check_jcs_subset(item, f"{where}[{i}]")
        return
    if kind is dict:
        for k, item in value.items():
            if not (isinstance(k, str) and k.isascii()):
                raise InvalidInputError(f"manifest {where}: object key {k!r} is not ASCII")
            _check_jcs_subset(item, f"{where}.{k}")
        return
    raise InvalidInputError(
        f"manifest {where}: {kind.__name__} values are not allowed (use integers, e.g. ms)"
    )


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The RFC 8785 (JCS) canonical UTF-8 bytes of ``manifest`` (validated first)."""
    validate_manifest(manifest)
    text = json.dumps(manifest, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


def manifest_hash(manifest: dict[str, Any]) -> str:
    """The hex SHA-256 of the manifest's JCS bytes."""
    return hashlib.sha256(manifest_bytes(manifest)).hexdigest()


def parse_manifest(data: bytes) -> dict[str, Any]:
    """A manifest read from its stored bytes, validated; InvalidInputError if malformed."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise InvalidInputError(f"manifest is not UTF-8 JSON: {e}") from e
    if not isinstance(value, dict):
        raise InvalidInputError("manifest is not a JSON object")
    validate_manifest(value)
    return value


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise InvalidInputError(f"manifest: {message}")


def _is_count(v: Any) -> bool:
    return type(v) is int and v >= 0


def validate_manifest(m: dict[str, Any]) -> dict[str, Any]:
    """``m`` if it has the manifest's keys, types and consistent totals; else InvalidInputError."""
    _need(set(m) == _KEYS, f"expected exactly the keys {sorted(_KEYS)}, got {sorted(m)}")
    _check_jcs_subset(m, "")
    check_name(m["dataset"])
    _need(type(m["version"]) is int and m["version"] >= 1, "version must be an integer >= 1")
    _need(m["modality"] in MODALITIES, f"modality must be one of {', '.join(MODALITIES)}")
    _need(isinstance(m["license"], str) and bool(m["license"]), "license must be an SPDX id")
    _need(isinstance(m["source"], str), "source must be a string")
    parent = m["parent"]
    _need(
        parent is None or (type(parent) is int and 1 <= parent < m["version"]),
        "parent must be null or an earlier version",
    )
    _need(isinstance(m["shards"], list), "shards must be a list")
    for i, s in enumerate(m["shards"]):
        _need(isinstance(s, dict) and set(s) == _SHARD_KEYS, f"shard {i}: bad keys")
        _need(bool(_HEX64.match(str(s["sha256"]))), f"shard {i}: sha256 must be 64 hex digits")
        _need(_is_count(s["bytes"]) and _is_count(s["records"]), f"shard {i}: bad counts")
        _need(s["format"] in FORMATS, f"shard {i}: format must be jsonl or tar")
    _need(_is_count(m["records"]), "records must be a count")
    _need(_is_count(m["bytes"]), "bytes must be a count")
    _need(m["records"] == sum(s["records"] for s in m["shards"]), "records != sum of shards")
    _need(m["bytes"] == sum(s["bytes"] for s in m["shards"]), "bytes != sum of shards")
    tokens = m["tokens"]
    _need(isinstance(tokens, dict) and all(_is_count(v) for v in tokens.values()), "bad tokens")
    _need(isinstance(m["metadata"], dict), "metadata must be an object")
    _need(isinstance(m["removed"], list), "removed must be a list")
    for i, r in enumerate(m["removed"]):
        ok = isinstance(r, dict) and set(r) == {"sha256", "reason"}
        _need(ok and bool(_HEX64.match(str(r["sha256"]))), f"removed {i}: need sha256, reason")
        _need(isinstance(r["reason"], str), f"removed {i}: reason must be a string")
    return m


def shard_offsets(manifest: dict[str, Any]) -> list[int]:
    """The global index of each shard's first document (manifest shard order)."""
    out: list[int] = []
    total = 0
    for s in manifest["shards"]:
        out.append(total)
        total += int(s["records"])
    return out


def global_index(manifest: dict[str, Any], shard: int, doc: int) -> int:
    """The global sample index of document ``doc`` of shard number ``shard``."""
    shards = manifest["shards"]
    if not 0 <= shard < len(shards) or not 0 <= doc < int(shards[shard]["records"]):
        raise InvalidInputError(f"no document {doc} in shard {shard} of this version")
    return shard_offsets(manifest)[shard] + doc


def locate(manifest: dict[str, Any], index: int) -> tuple[int, int]:
    """``(shard number, doc)`` of global sample ``index``; InvalidInputError if out of range."""
    if not 0 <= index < int(manifest["records"]):
        raise InvalidInputError(f"sample index {index} is outside 0..{manifest['records'] - 1}")
    offsets = shard_offsets(manifest)
    shard = bisect.bisect_right(offsets, index) - 1  # the last shard starting at or before
    return shard, index - offsets[shard]
