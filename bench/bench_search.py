"""Benchmark: training-data search index build and query latency on real text from this machine.

    python bench/bench_search.py [--sizes-mb 10,100,0] [--shard-mb 32] [--queries 2000]

Corpus (offline, distinct files, never repeated; files that are not UTF-8 are skipped), taken
in this order until the size is reached: CPython 3.11 standard-library sources
(/usr/lib/python3.11, PSF-2.0 licence), /usr/share/common-licenses (licence texts, verbatim
copying permitted), Debian manual pages (/usr/share/man, troff sources, each under its
package's licence as listed in /usr/share/doc/<package>/copyright) and Debian package
documentation (/usr/share/doc, plain and gzip'd files, same). Size 0 = everything available.

For each size: the documents are written as JSONL shards of at most ``--shard-mb`` of text,
each shard indexed (single process, so MB/s is per core; the default shard size is the one
``pnyx data add`` uses, 32 MiB) and timed against the bare
pydivsufsort call on the same text (the anchor, same process). Queries are random substrings
(4-64 bytes at random document positions, 90 %) and absent strings (10 %), counted over every
shard of the version after a warm-up pass; ``locate_10`` locates up to 10 hits with snippets.
The baseline for counts is a linear scan (``mmap.find`` over the same text, 20 queries).
Latencies are wall time; ``*_cpu_ms`` are the same queries' thread CPU time, which a busy
machine's scheduling does not inflate (``load_average_1m`` says how busy it was). Memory:
``peak_rss_mib_build`` is the process's peak; the index itself is memory-mapped, so its pages
are the page cache's (index bytes = text bytes x ``index_bytes_per_text_byte``). Prints JSON.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydivsufsort  # type: ignore[import-untyped]

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.ingest import SHARD_LIMIT_BYTES
from pnyx.data.search import index as idx
from pnyx.data.search.build import build_shard_index
from pnyx.data.search.query import VersionIndex, count_version, locate_version
from pnyx.data.shards import TextRecord, write_text_shard

SOURCES = (
    ("/usr/lib/python3.11", "*.py", "PSF-2.0 (CPython standard library)"),
    ("/usr/share/common-licenses", "*", "licence texts (verbatim copying permitted)"),
    ("/usr/share/man", "*.gz", "Debian manual pages (per-package licences)"),
    ("/usr/share/doc", "*", "Debian package documentation (per-package licences)"),
)


def documents() -> Iterator[tuple[str, str, str]]:
    """(id, text, source) of every distinct UTF-8 text file of SOURCES, in a fixed order."""
    seen: set[str] = set()
    for root, pattern, licence in SOURCES:
        for path in sorted(Path(root).rglob(pattern)):
            if path.is_symlink() or not path.is_file():
                continue
            try:
                raw = path.read_bytes()
                if path.suffix == ".gz":
                    raw = gzip.decompress(raw)
                text = raw.decode("utf-8")
            except (OSError, EOFError, ValueError):
                continue
            digest = hashlib.sha256(raw).hexdigest()
            if not text.strip() or digest in seen:
                continue
            seen.add(digest)
            yield str(path), text, licence


def corpus(limit_bytes: int) -> list[TextRecord]:
    """Documents up to ``limit_bytes`` of UTF-8 text (0: all)."""
    out: list[TextRecord] = []
    total = 0
    for doc_id, text, licence in documents():
        out.append(TextRecord.of(doc_id, text, licence))
        total += len(text.encode())
        if limit_bytes and total >= limit_bytes:
            break
    return out


def shards(records: list[TextRecord], shard_bytes: int) -> list[bytes]:
    """JSONL shards of at most ``shard_bytes`` of text each."""
    out: list[bytes] = []
    batch: list[TextRecord] = []
    size = 0
    for rec in records:
        n = len(rec.text.encode())
        if batch and size + n > shard_bytes:
            out.append(write_text_shard(batch))
            batch, size = [], 0
        batch.append(rec)
        size += n
    if batch:
        out.append(write_text_shard(batch))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def queries(records: list[TextRecord], n: int, rng: random.Random) -> list[bytes]:
    out = []
    for i in range(n):
        if i % 10 == 9:
            out.append(f"zq{rng.getrandbits(64):x}absent".encode())
            continue
        data = rng.choice(records).text.encode()
        if len(data) < 4:
            continue
        start = rng.randrange(len(data) - 3)
        piece = data[start : start + rng.randint(4, 64)].decode("utf-8", errors="ignore")
        if piece:
            out.append(piece.encode())
    return out


def run_size(limit_mb: int, shard_mb: int, n_queries: int, work: Path) -> dict[str, Any]:
    records = corpus(limit_mb * 1_000_000)
    text_bytes = sum(len(r.text.encode()) for r in records)
    store = ArtifactStore(work / f"store-{limit_mb}")
    built, build_s, anchor_s = [], 0.0, 0.0
    for shard in shards(records, shard_mb * 1_000_000):
        sha = hashlib.sha256(shard).hexdigest()
        start = time.perf_counter()
        built.append(build_shard_index(store, shard, sha))
        build_s += time.perf_counter() - start
        text = b"".join(r.text.encode() + b"\xff" for r in _records_of(shard))
        start = time.perf_counter()
        pydivsufsort.divsufsort(text)
        anchor_s += time.perf_counter() - start
        del text
    build_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    opened = [idx.open_index(store, b.index_sha256) for b in built]
    offsets, first = [], 0
    for b in built:
        offsets.append(first)
        first += b.manifest.records
    version = VersionIndex(opened, offsets)
    rng = random.Random(limit_mb)
    qs = queries(records, n_queries, rng)
    for q in qs:  # warm-up: page the touched parts of the index in
        count_version(version, q)
    for q in qs[:500]:
        locate_version(version, q, 10)
    count_cpu: list[float] = []
    locate_cpu: list[float] = []
    count_ms = _timed(lambda q: count_version(version, q), qs, count_cpu)
    locate_ms = _timed(lambda q: locate_version(version, q, 10), qs[:500], locate_cpu)
    texts = [ix._text for ix in opened]
    scan_ms = _timed(lambda q: sum(scan_count(t, q) for t in texts), qs[:20])
    index_bytes = sum(b.manifest.index_bytes() for b in built)
    out = {
        "corpus_mb": round(text_bytes / 1e6, 1),
        "documents": len(records),
        "shards": len(built),
        "build_s": round(build_s, 2),
        "build_mb_per_s_per_core": round(text_bytes / 1e6 / build_s, 2),
        "anchor_divsufsort_mb_per_s": round(text_bytes / 1e6 / anchor_s, 2),
        "build_vs_anchor": round(anchor_s / build_s, 3),
        "index_bytes_per_text_byte": round(index_bytes / text_bytes, 3),
        "queries": len(qs),
        "count_ms": _stats(count_ms),
        "locate_10_ms": _stats(locate_ms),
        "count_cpu_ms": _stats(count_cpu),
        "locate_10_cpu_ms": _stats(locate_cpu),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "linear_scan_count_ms": _stats(scan_ms),
        "count_speedup_vs_scan_p50": round(
            statistics.median(scan_ms) / statistics.median(count_ms), 1
        ),
        "peak_rss_mib_build": round(build_rss, 1),
        "rss_mib_after_queries": round(_rss_mib(), 1),
    }
    idx.close_all()
    return out


def scan_count(text: Any, pattern: bytes) -> int:
    """Overlapping occurrences by a linear scan (the baseline; same answers as the index)."""
    total, start = 0, text.find(pattern)
    while start != -1:
        total += 1
        start = text.find(pattern, start + 1)
    return total


def _records_of(shard: bytes) -> list[TextRecord]:
    from pnyx.data.shards import read_text_shard

    return read_text_shard(shard)


def _timed(fn: Any, qs: list[bytes], cpu: list[float] | None = None) -> list[float]:
    """Wall milliseconds per query; with ``cpu``, also this thread's CPU milliseconds (which a
    busy machine's scheduling does not inflate)."""
    out = []
    for q in qs:
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn(q)
        out.append((time.perf_counter() - start) * 1000)
        if cpu is not None:
            cpu.append((time.thread_time() - start_cpu) * 1000)
    return out


def _stats(ms: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(ms), 4),
        "p99": round(percentile(ms, 0.99), 4),
        "mean": round(statistics.fmean(ms), 4),
    }


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", default="10,100,0", help="corpus sizes; 0 = all text")
    parser.add_argument("--shard-mb", type=int, default=SHARD_LIMIT_BYTES // 1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("PNYX_BENCH_DIR")) as tmp:
        for size in [int(s) for s in args.sizes_mb.split(",")]:
            results.append(run_size(size, args.shard_mb, args.queries, Path(tmp)))
            print(json.dumps(results[-1]), file=sys.stderr)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps({"machine": machine, "shard_mb": args.shard_mb, "sizes": results}, indent=2))


if __name__ == "__main__":
    main()
