"""Shard formats: JSON Lines for text and code, WebDataset-style tar for media.

Text/code: UTF-8, one document per line, each line the canonical JSON of
``{"id", "text", "source", "sha256"}`` (sorted keys, no ASCII escaping, compact separators);
``sha256`` is the hex SHA-256 of the text's UTF-8 bytes. A document's 0-based line number is
its ``doc`` number inside the shard.

Media: an uncompressed tar holding, per sample, ``<key>.<ext>`` (the file's bytes) and
``<key>.json`` (its metadata, canonical JSON with at least ``sha256`` and ``source``). Members
are written in sample order with fixed owner, mode and time, so the same samples always give
the same bytes (and the same shard hash).

Standard library only: the training recipe imports this on machines that have only torch.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pnyx.errors import InvalidInputError

_KEYS = frozenset({"id", "text", "source", "sha256"})


@dataclass(frozen=True)
class TextRecord:
    """One text or code document of a shard."""

    id: str
    text: str
    source: str
    sha256: str

    @classmethod
    def of(cls, id: str, text: str, source: str) -> TextRecord:
        """A record whose ``sha256`` is computed from ``text``."""
        return cls(id, text, source, hashlib.sha256(text.encode("utf-8")).hexdigest())


def record_line(rec: TextRecord) -> bytes:
    """The canonical JSON line of ``rec`` (without the newline)."""
    obj = {"id": rec.id, "text": rec.text, "source": rec.source, "sha256": rec.sha256}
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def write_text_shard(records: Iterable[TextRecord]) -> bytes:
    """The JSONL bytes of ``records``: one canonical line each, each ending in a newline."""
    return b"".join(record_line(r) + b"\n" for r in records)


def read_text_shard(data: bytes) -> list[TextRecord]:
    """The records of a JSONL shard; InvalidInputError naming the line when one is malformed."""
    if data and not data.endswith(b"\n"):
        raise InvalidInputError("text shard: the last line does not end in a newline")
    out: list[TextRecord] = []
    for no, line in enumerate(data.split(b"\n")[:-1] if data else [], start=1):
        out.append(_parse_line(line, no))
    return out


def _parse_line(line: bytes, no: int) -> TextRecord:
    where = f"text shard line {no}"
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise InvalidInputError(f"{where}: not UTF-8 JSON: {e}") from e
    if not isinstance(obj, dict) or set(obj) != _KEYS:
        raise InvalidInputError(f"{where}: expected exactly the keys id, sha256, source, text")
    if not all(isinstance(obj[k], str) for k in _KEYS):
        raise InvalidInputError(f"{where}: id, sha256, source and text must be strings")
    rec = TextRecord(obj["id"], obj["text"], obj["source"], obj["sha256"])
    if hashlib.sha256(rec.text.encode("utf-8")).hexdigest() != rec.sha256:
        raise InvalidInputError(f"{where}: sha256 does not match the text of document {rec.id!r}")
    if record_line(rec) != line:
        raise InvalidInputError(f"{where}: not in canonical form")
    return rec


@dataclass(frozen=True)
class MediaSample:
    """One media sample: its file bytes, extension and metadata (JSON-able, ASCII keys)."""

    key: str
    ext: str
    data: bytes
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of the sample's file bytes (its record hash)."""
        return hashlib.sha256(self.data).hexdigest()


def _member(name: str, payload: bytes) -> tuple[tarfile.TarInfo, io.BytesIO]:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info, io.BytesIO(payload)


def _check_key(key: str, ext: str) -> None:
    bad = not key or "/" in key or "." in key or not ext or "/" in ext or ext == "json"
    if bad or not key.isprintable():
        raise InvalidInputError(f"media sample: bad key/extension {key!r}.{ext!r}")


def write_media_shard(samples: Iterable[MediaSample]) -> bytes:
    """A deterministic WebDataset-style tar of ``samples`` (file, then ``<key>.json``)."""
    buf = io.BytesIO()
    seen: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for s in samples:
            _check_key(s.key, s.ext)
            if s.key in seen:
                raise InvalidInputError(f"media shard: duplicate sample key {s.key!r}")
            seen.add(s.key)
            meta = dict(s.meta, sha256=s.sha256)
            meta_bytes = json.dumps(
                meta, sort_keys=True, ensure_ascii=False, separators=(",", ":")
            ).encode()
            tar.addfile(*_member(f"{s.key}.{s.ext}", s.data))
            tar.addfile(*_member(f"{s.key}.json", meta_bytes))
    return buf.getvalue()


def read_media_shard(data: bytes) -> list[MediaSample]:
    """The samples of a media tar, in order; InvalidInputError when a member is malformed."""
    files: dict[str, tuple[str, bytes]] = {}
    metas: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for m in tar:
                if not m.isfile():
                    raise InvalidInputError(f"media shard: {m.name!r} is not a regular file")
                key, _, ext = m.name.partition(".")
                f = tar.extractfile(m)
                payload = f.read() if f is not None else b""
                if ext == "json":
                    metas[key] = json.loads(payload.decode("utf-8"))
                else:
                    files[key] = (ext, payload)
                    order.append(key)
    except (tarfile.TarError, ValueError) as e:
        raise InvalidInputError(f"media shard: not a readable tar: {e}") from e
    out: list[MediaSample] = []
    for key in order:
        ext, payload = files[key]
        meta = metas.get(key)
        if meta is None:
            raise InvalidInputError(f"media shard: sample {key!r} has no {key}.json")
        sample = MediaSample(key, ext, payload, {k: v for k, v in meta.items() if k != "sha256"})
        if meta.get("sha256") != sample.sha256:
            raise InvalidInputError(f"media shard: sample {key!r} does not match its sha256")
        out.append(sample)
    return out
