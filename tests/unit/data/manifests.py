"""A valid manifest to start tests from."""

from __future__ import annotations

from typing import Any


def make_manifest() -> dict[str, Any]:
    return {
        "dataset": "stdlib-code",
        "version": 2,
        "modality": "code",
        "license": "PSF-2.0",
        "source": "CPython 3.11 standard library (Debian python3.11)",
        "parent": 1,
        "shards": [
            {"sha256": "a" * 64, "bytes": 100, "records": 3, "format": "jsonl"},
            {"sha256": "b" * 64, "bytes": 50, "records": 2, "format": "jsonl"},
        ],
        "records": 5,
        "bytes": 150,
        "tokens": {"gpt2": 40},
        "metadata": {"languages": ["python"], "note": "ünïcode ok in values"},
        "removed": [{"sha256": "c" * 64, "reason": "opt-out request #1"}],
    }
