"""Ingestion: files -> records -> size-limited shards -> a draft dataset version (manifest plus
shard bytes), and the draft of a version that leaves records out (opt-out).

Nothing here writes: the caller stores the shard bytes and the manifest as artifacts once the
draft is complete, so a bad input leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pnyx.data.artifacts import ArtifactStore, sha256_hex
from pnyx.data.htmltext import html_to_text
from pnyx.data.manifest import MODALITIES, check_name, validate_manifest
from pnyx.data.media import audio_info, image_info, video_info
from pnyx.data.shards import (
    MediaSample,
    TextRecord,
    read_media_shard,
    read_text_shard,
    record_line,
    write_media_shard,
    write_text_shard,
)
from pnyx.data.summary import media_metadata, text_metadata
from pnyx.data.tokens import count_tokens
from pnyx.errors import InvalidInputError, NotFoundError

SHARD_LIMIT_BYTES = 32 * 2**20
EXTENSIONS: dict[str, frozenset[str]] = {
    "text": frozenset({".txt", ".md", ".rst", ".html", ".htm"}),
    "code": frozenset(
        {
            ".py",
            ".pyi",
            ".c",
            ".h",
            ".cc",
            ".cpp",
            ".hpp",
            ".rs",
            ".go",
            ".js",
            ".ts",
            ".java",
            ".sh",
            ".rb",
            ".lua",
            ".toml",
            ".json",
            ".yaml",
            ".yml",
            ".sql",
        }
    ),
    "image": frozenset({".png", ".jpg", ".jpeg", ".gif"}),
    "audio": frozenset({".wav"}),
    "video": frozenset({".y4m"}),
}
_PROBE: dict[str, Callable[[bytes, str], dict[str, Any]]] = {
    "image": image_info,
    "audio": audio_info,
    "video": video_info,
}

Item = TextRecord | MediaSample


@dataclass(frozen=True)
class VersionDraft:
    """A dataset version ready to store: its manifest and the bytes of each of its shards."""

    manifest: dict[str, Any]
    shards: list[bytes]


def check_modality(modality: str) -> str:
    """``modality`` if known, else InvalidInputError listing the known ones."""
    if modality not in MODALITIES:
        raise InvalidInputError(
            f"unknown modality {modality!r}: use one of {', '.join(MODALITIES)}"
        )
    return modality


def collect_files(path: Path, modality: str) -> tuple[Path, list[Path]]:
    """(root, files of the modality under ``path``, sorted by relative path)."""
    check_modality(modality)
    if not path.exists():
        raise NotFoundError(f"no such file or directory: {path}")
    root = path if path.is_dir() else path.parent
    candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
    exts = EXTENSIONS[modality]
    files = [p for p in candidates if p.is_file() and p.suffix.lower() in exts]
    if not files:
        raise InvalidInputError(
            f"no {modality} files under {path} (looked for {', '.join(sorted(exts))})"
        )
    return root, sorted(files, key=lambda p: p.relative_to(root).as_posix())


def record_source(source: str, root: Path, rel: str) -> str:
    """Where a record came from: ``SOURCE/rel`` when --source is a URL, else its file URL."""
    base = source.rstrip("/") if "://" in source else root.resolve().as_uri()
    return f"{base}/{rel}"


def read_items(path: Path, modality: str, source: str) -> list[Item]:
    """The records (text, code) or samples (media) of the files under ``path``."""
    root, files = collect_files(path, modality)
    items: list[Item] = []
    for i, f in enumerate(files):
        rel = f.relative_to(root).as_posix()
        origin = record_source(source, root, rel)
        if modality in ("text", "code"):
            text = _read_text(f, rel)
            if text.strip():
                items.append(TextRecord.of(rel, text, origin))
            continue
        data = f.read_bytes()
        meta = {**_PROBE[modality](data, rel), "id": rel, "source": origin}
        ext = f.suffix.lower().lstrip(".")
        items.append(MediaSample(f"{i:08d}", ext, data, meta))
    if not items:
        raise InvalidInputError(f"every {modality} file under {path} is empty")
    return items


def _read_text(f: Path, rel: str) -> str:
    try:
        text = f.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInputError(f"{rel}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    return html_to_text(text) if f.suffix.lower() in (".html", ".htm") else text


def _item_size(item: Item) -> int:
    if isinstance(item, TextRecord):
        return len(record_line(item)) + 1
    return len(item.data) + 2048  # two tar headers, padding and the metadata


def pack(items: Sequence[Item], shard_limit_bytes: int) -> list[list[Item]]:
    """Items in order, cut into groups of at most ``shard_limit_bytes`` (an oversized item
    gets a shard of its own)."""
    groups: list[list[Item]] = []
    size = 0
    for item in items:
        n = _item_size(item)
        if not groups or (size + n > shard_limit_bytes and groups[-1]):
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += n
    return groups


def draft_version(
    name: str,
    version: int,
    parent: int | None,
    modality: str,
    license_id: str,
    source: str,
    items: Sequence[Item],
    removed: Sequence[dict[str, str]] = (),
    shard_limit_bytes: int = SHARD_LIMIT_BYTES,
) -> VersionDraft:
    """The manifest and shard bytes of a version holding ``items``."""
    check_name(name)
    check_modality(modality)
    if shard_limit_bytes < 1:
        raise InvalidInputError("shard limit must be at least 1 byte")
    textual = modality in ("text", "code")
    groups = pack(items, shard_limit_bytes)
    blobs = [_shard_bytes(group, textual) for group in groups]
    shards = [
        {"sha256": sha256_hex(b), "bytes": len(b), "records": len(g),
         "format": "jsonl" if textual else "tar"}
        for b, g in zip(blobs, groups, strict=True)
    ]  # fmt: skip
    texts = [i for i in items if isinstance(i, TextRecord)]
    samples = [i for i in items if isinstance(i, MediaSample)]
    manifest = {
        "dataset": name,
        "version": version,
        "modality": modality,
        "license": license_id,
        "source": source,
        "parent": parent,
        "shards": shards,
        "records": len(items),
        "bytes": sum(len(b) for b in blobs),
        "tokens": count_tokens(r.text for r in texts) if textual else {},
        "metadata": text_metadata(texts, shard_limit_bytes)
        if textual
        else media_metadata(modality, samples, shard_limit_bytes),
        "removed": list(removed),
    }
    return VersionDraft(validate_manifest(manifest), blobs)


def _shard_bytes(group: Sequence[Item], textual: bool) -> bytes:
    if textual:
        return write_text_shard(i for i in group if isinstance(i, TextRecord))
    return write_media_shard(i for i in group if isinstance(i, MediaSample))


def item_hash(item: Item) -> str:
    """A record's content hash: of the text (text, code) or of the file bytes (media)."""
    return item.sha256


def item_source(item: Item) -> str:
    """Where a record came from."""
    return item.source if isinstance(item, TextRecord) else str(item.meta.get("source", ""))


def read_version_items(store: ArtifactStore, manifest: dict[str, Any]) -> list[Item]:
    """Every record of a stored version, in global order; each shard re-hashed on read."""
    out: list[Item] = []
    for s in manifest["shards"]:
        data = store.read(s["sha256"])
        out.extend(read_text_shard(data) if s["format"] == "jsonl" else read_media_shard(data))
    return out


def draft_removal(
    store: ArtifactStore,
    manifest: dict[str, Any],
    version: int,
    record_hashes: Iterable[str],
    source_urls: Iterable[str],
    reason: str,
) -> tuple[VersionDraft, list[dict[str, str]]]:
    """Version ``version`` (child of ``manifest``'s) without the records whose hash or source
    matches, and the removed entries (hash and reason only). A source ending in '/' matches
    every record below it."""
    hashes, urls = set(record_hashes), set(source_urls)
    if not reason.strip():
        raise InvalidInputError("a removal needs a reason (--reason)")
    if not hashes and not urls:
        raise InvalidInputError("name what to remove: --record-hash H or --source-url U")

    def matches(item: Item) -> bool:
        src = item_source(item)
        return (
            item_hash(item) in hashes
            or src in urls
            or any(u.endswith("/") and src.startswith(u) for u in urls)
        )

    items = read_version_items(store, manifest)
    keep = [i for i in items if not matches(i)]
    gone = sorted({item_hash(i) for i in items if matches(i)})
    if not gone:
        raise InvalidInputError(
            f"no record of {manifest['dataset']}@{manifest['version']} matches the removal "
            "request; nothing written"
        )
    removed = [*manifest["removed"], *({"sha256": h, "reason": reason} for h in gone)]
    limit = int(manifest["metadata"].get("shard_limit_bytes", SHARD_LIMIT_BYTES))
    draft = draft_version(
        manifest["dataset"], version, manifest["version"], manifest["modality"],
        manifest["license"], manifest["source"], keep, removed, limit,
    )  # fmt: skip
    return draft, [{"sha256": h, "reason": reason} for h in gone]
