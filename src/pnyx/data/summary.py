"""Per-modality manifest metadata, computed from the records of a version (so a version made by
removing records gets figures that match what is left)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from pnyx.data.shards import MediaSample, TextRecord
from pnyx.data.tokens import TOKENIZER_INFO


def _ext(record_id: str) -> str:
    name = record_id.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def text_metadata(records: Sequence[TextRecord], shard_limit_bytes: int) -> dict[str, Any]:
    """Documents, characters, UTF-8 bytes of text, files by extension, the tokenizers used."""
    return {
        "documents": len(records),
        "characters": sum(len(r.text) for r in records),
        "text_bytes": sum(len(r.text.encode("utf-8")) for r in records),
        "extensions": dict(sorted(Counter(_ext(r.id) for r in records).items())),
        "tokenizers": TOKENIZER_INFO,
        "shard_limit_bytes": shard_limit_bytes,
    }


def _range(values: list[int]) -> dict[str, int]:
    return {"min": min(values), "max": max(values)} if values else {"min": 0, "max": 0}


def media_metadata(
    modality: str, samples: Sequence[MediaSample], shard_limit_bytes: int
) -> dict[str, Any]:
    """Counts by format plus the modality's figures (image sizes; audio rates and duration;
    video sizes, frames and duration), from each sample's header facts."""
    metas = [s.meta for s in samples]
    out: dict[str, Any] = {
        "samples": len(samples),
        "formats": dict(sorted(Counter(str(m["format"]) for m in metas).items())),
        "shard_limit_bytes": shard_limit_bytes,
    }
    if modality in ("image", "video"):
        out["width"] = _range([int(m["width"]) for m in metas])
        out["height"] = _range([int(m["height"]) for m in metas])
    if modality == "image":
        out["pixels"] = sum(int(m["width"]) * int(m["height"]) for m in metas)
    if modality == "audio":
        rates = Counter(str(m["sample_rate_hz"]) for m in metas)
        out["sample_rates_hz"] = dict(sorted(rates.items()))
        out["channels"] = _range([int(m["channels"]) for m in metas])
    if modality in ("audio", "video"):
        out["duration_ms"] = sum(int(m["duration_ms"]) for m in metas)
    if modality == "video":
        out["frames"] = sum(int(m["frames"]) for m in metas)
    return out
