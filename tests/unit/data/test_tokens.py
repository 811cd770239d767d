"""Token counts: cl100k_base from the shipped ranks; worker processes give the same sum."""

from __future__ import annotations

import pytest

from pnyx.data import tokens


def test_known_counts() -> None:
    assert tokens.count_tokens(["hello world"]) == {"cl100k_base": 2}
    assert tokens.count_tokens([]) == {"cl100k_base": 0}
    # special-token text is ordinary text: never a single special token
    assert tokens.count_tokens(["<|endoftext|>"])["cl100k_base"] > 1


def test_parallel_count_equals_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [f"def f{i}(x):\n    return x * {i}  # ünïcode\n" * 50 for i in range(40)]
    serial = tokens.count_tokens(texts, workers=1)
    monkeypatch.setattr(tokens, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(tokens, "_CHUNK_BYTES", 5_000)
    assert len(tokens._chunks(texts)) > 2
    assert tokens.count_tokens(texts, workers=2) == serial
