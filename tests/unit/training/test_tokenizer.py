"""BPE training and the Hugging Face layout of a saved tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from pnyx.errors import InvalidInputError
from pnyx.training.tokenizer import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    load_tokenizer,
    save_tokenizer,
    special_ids,
    train_bpe,
)

TEXTS = ["def add(a, b):\n    return a + b\n", "The council votes on the award."] * 20


def test_train_save_and_load_with_auto_tokenizer(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    tok = train_bpe(TEXTS, 400)
    assert tok.get_vocab_size() <= 400
    assert special_ids(tok) == (PAD_ID, BOS_ID, EOS_ID)
    folder = save_tokenizer(tok, tmp_path / "tok", 128)
    assert load_tokenizer(folder).to_str() == tok.to_str()
    hf = AutoTokenizer.from_pretrained(folder)
    assert hf.eos_token_id == EOS_ID and hf.pad_token_id == PAD_ID
    text = "def add(a, b):\n    return a + b\n"
    assert hf.decode(hf(text)["input_ids"]) == text
    assert hf(text)["input_ids"] == tok.encode(text).ids


def test_training_is_deterministic_and_validated() -> None:
    assert train_bpe(TEXTS, 300).to_str() == train_bpe(TEXTS, 300).to_str()
    with pytest.raises(InvalidInputError, match="vocab_size"):
        train_bpe(TEXTS, 100)


def test_missing_tokenizer(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"no tokenizer\.json"):
        load_tokenizer(tmp_path)
