"""Byte-level BPE tokenizers trained with ``tokenizers``, saved in Hugging Face layout.

A saved folder holds ``tokenizer.json`` plus ``tokenizer_config.json`` and
``special_tokens_map.json``, so ``AutoTokenizer.from_pretrained(folder)`` loads it as a fast
tokenizer. Special tokens have fixed ids: ``<|pad|>`` 0, ``<|bos|>`` 1, ``<|eos|>`` 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from pnyx.errors import InvalidInputError

PAD, BOS, EOS = "<|pad|>", "<|bos|>", "<|eos|>"
SPECIAL_TOKENS = (PAD, BOS, EOS)
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def train_bpe(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Tokenizer:
    """A byte-level BPE of at most ``vocab_size`` tokens trained on ``texts``."""
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise InvalidInputError(f"tokenizer vocab_size {vocab_size} is below 259 (bytes + 3)")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def save_tokenizer(tok: Tokenizer, folder: Path, model_max_length: int) -> Path:
    """Write ``tok`` to ``folder`` in Hugging Face layout; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    specials = {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": model_max_length,
        "clean_up_tokenization_spaces": False,
        **specials,
    }
    _write_json(folder / "tokenizer_config.json", config)
    _write_json(folder / "special_tokens_map.json", specials)
    return folder


def load_tokenizer(path: Path) -> Tokenizer:
    """A tokenizer from a folder holding ``tokenizer.json``, or from that file itself."""
    path = Path(path)
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise InvalidInputError(f"no tokenizer.json at {path}")
    return Tokenizer.from_file(str(file))


def special_ids(tok: Tokenizer) -> tuple[int, int, int]:
    """(pad, bos, eos) ids of ``tok``; eos falls back to pad/bos-less tokenizers' own tokens."""
    ids = [tok.token_to_id(t) for t in SPECIAL_TOKENS]
    if ids[2] is None:
        raise InvalidInputError(f"tokenizer has no end-of-sequence token {EOS!r}")
    pad = ids[0] if ids[0] is not None else ids[2]
    bos = ids[1] if ids[1] is not None else ids[2]
    return pad, bos, ids[2]


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")
