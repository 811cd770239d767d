"""Benchmark: dataset ingestion throughput on real code from this machine.

    python bench/bench_ingest.py [--mb 20] [--shard-mb 32] [--repeats 3]

Corpus: CPython 3.11 standard-library sources under /usr/lib/python3.11 (PSF-2.0), taken in
path order until ``--mb`` of UTF-8 text (files that are not UTF-8 are skipped). Stages, each
timed on the same files in the same process (median of ``--repeats``):

- ``baseline``: read every file and SHA-256 it (the floor for any content-addressed ingest);
- ``records_shards``: read, build records, pack and write canonical JSONL shard bytes, hash;
- ``tokens``: the cl100k_base token count of the same texts alone (tiktoken; worker
  processes, one per core, for inputs over 8 MiB); ``tokens_one_process``: the same in this
  process only;
- ``ingest``: the whole draft (records, shards, tokens, metadata, manifest) plus storing the
  shards and the manifest in a fresh artifact store.

Prints JSON: MB/s of text per stage and ``ingest`` relative to ``baseline``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.ingest import draft_version, pack, read_items
from pnyx.data.manifest import manifest_bytes
from pnyx.data.shards import TextRecord, write_text_shard
from pnyx.data.tokens import count_tokens

STDLIB = Path("/usr/lib/python3.11")


def corpus(dest: Path, limit: int) -> int:
    """Copy stdlib sources into ``dest`` until ``limit`` bytes; return the bytes copied."""
    total = 0
    for f in sorted(STDLIB.rglob("*.py")):
        if total >= limit or "site-packages" in f.parts or "dist-packages" in f.parts:
            continue
        data = f.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        target = dest / f.relative_to(STDLIB)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        total += len(data)
    return total


def timed(fn: Callable[[], Any], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=20.0)
    ap.add_argument("--shard-mb", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    limit = args.shard_mb << 20
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        size = corpus(src, int(args.mb * 1e6))
        files = sorted(p for p in src.rglob("*.py"))
        items = read_items(src, "code", "bench")
        texts = [i.text for i in items if isinstance(i, TextRecord)]

        def baseline() -> None:
            for f in files:
                hashlib.sha256(f.read_bytes()).hexdigest()

        def records_shards() -> None:
            recs = read_items(src, "code", "bench")
            for group in pack(recs, limit):
                shard = write_text_shard(r for r in group if isinstance(r, TextRecord))
                hashlib.sha256(shard).hexdigest()

        def tokens() -> None:
            count_tokens(texts)

        def tokens_one_process() -> None:
            count_tokens(texts, workers=1)

        def ingest() -> None:
            with tempfile.TemporaryDirectory() as out:
                store = ArtifactStore(Path(out))
                recs = read_items(src, "code", "bench")
                draft = draft_version("bench", 1, None, "code", "PSF-2.0", "bench", recs,
                                      shard_limit_bytes=limit)  # fmt: skip
                for blob in draft.shards:
                    store.put_bytes(blob)
                store.put_bytes(manifest_bytes(draft.manifest))

        count_tokens(["warm up the tokenizer"])
        stages = {n: timed(f, args.repeats) for n, f in [
            ("baseline", baseline), ("records_shards", records_shards), ("tokens", tokens),
            ("tokens_one_process", tokens_one_process),
            ("ingest", ingest)]}  # fmt: skip
    mb = size / 1e6
    out = {
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "corpus": "CPython 3.11 stdlib sources (/usr/lib/python3.11), PSF-2.0",
        "text_mb": round(mb, 2),
        "documents": len(texts),
        "mb_per_s": {k: round(mb / v, 2) for k, v in stages.items()},
        "seconds": {k: round(v, 3) for k, v in stages.items()},
        "ingest_vs_baseline": round(stages["ingest"] / stages["baseline"], 2),
        "tokens_share_of_ingest": round(stages["tokens"] / stages["ingest"], 2),
    }
    sys.stdout.write(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
