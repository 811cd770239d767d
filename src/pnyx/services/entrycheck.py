"""The per-entry checks of a log verifier, in worker processes when the log is large.

Each entry must be canonical JSON whose ``seq`` is its index; its leaf hash is recomputed and,
when the source stores leaf hashes, compared with the stored one. These checks are independent
per entry (the tree is grown afterwards, in order), so batches can be checked on every core
while the caller reads the next ones; results come back in log order, so the first failure
reported is still the one with the lowest index.
"""

from __future__ import annotations

import base64
import hashlib
import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from pnyx.domain.canonical import parse_canonical_json
from pnyx.errors import InvalidInputError, VerificationError


@dataclass(frozen=True)
class EntryBatch:
    """Consecutive entries from index ``start``; ``leaf_hashes`` when the source stores them."""

    start: int
    entries: list[bytes]
    leaf_hashes: list[bytes] | None = None


@dataclass(frozen=True)
class CheckedBatch:
    """A batch that passed: its recomputed leaf hashes and, if asked for, the decoded entries."""

    batch: EntryBatch
    hashes: list[bytes]
    objects: list[dict[str, Any]] | None


def check_batch(batch: EntryBatch) -> tuple[list[bytes], list[dict[str, Any]]]:
    """Check every entry of ``batch``; return (leaf hashes, decoded entries) or raise."""
    objects = check_entries(batch)
    return leaf_hashes(batch), objects


def check_batches(
    batches: Iterator[EntryBatch], *, keep_objects: bool, workers: int = 1
) -> Iterator[CheckedBatch]:
    """Check batches in order; with ``workers`` > 1, in that many processes (no objects kept)."""
    if workers <= 1 or keep_objects:
        for batch in batches:
            hashes, objects = check_batch(batch)
            yield CheckedBatch(batch, hashes, objects if keep_objects else None)
        return
    yield from _check_in_pool(batches, workers)


def _check_in_pool(batches: Iterator[EntryBatch], workers: int) -> Iterator[CheckedBatch]:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    pool = ProcessPoolExecutor(workers, mp_context=context)
    window: deque[tuple[EntryBatch, Future[list[bytes]]]] = deque()
    try:
        for batch in batches:
            window.append((batch, pool.submit(_hashes_of, batch)))
            if len(window) > 2 * workers:
                done, future = window.popleft()
                yield CheckedBatch(done, future.result(), None)
        while window:
            done, future = window.popleft()
            yield CheckedBatch(done, future.result(), None)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _hashes_of(batch: EntryBatch) -> list[bytes]:
    """Worker side: check the batch and send back only its leaf hashes."""
    check_entries(batch)
    return leaf_hashes(batch)


def check_entries(batch: EntryBatch) -> list[dict[str, Any]]:
    """Each entry is canonical JSON with ``seq`` equal to its index; returns the decoded objects."""
    objects: list[dict[str, Any]] = []
    index = batch.start
    for data in batch.entries:
        try:
            obj = parse_canonical_json(data)
        except InvalidInputError as e:
            raise VerificationError(f"entry {index}: {e}") from e
        seq = obj.get("seq") if isinstance(obj, dict) else None
        if seq != index or type(seq) is not int:
            raise VerificationError(f"entry {index}: seq {seq} != index {index}")
        objects.append(obj)
        index += 1
    return objects


def leaf_hashes(batch: EntryBatch) -> list[bytes]:
    """The recomputed leaf hashes; raises at the first one that differs from a stored one."""
    sha256 = hashlib.sha256
    hashes = [sha256(b"\x00" + data).digest() for data in batch.entries]
    stored = batch.leaf_hashes
    if stored is not None and stored != hashes:
        offset = next(
            (i for i, (a, b) in enumerate(zip(hashes, stored, strict=False)) if a != b),
            min(len(hashes), len(stored)),
        )
        theirs = _b64(stored[offset]) if offset < len(stored) else "none"
        raise VerificationError(
            f"entry {batch.start + offset}: leaf hash {_b64(hashes[offset])} != stored {theirs}"
        )
    return hashes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
