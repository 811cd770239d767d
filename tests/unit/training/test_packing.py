"""Packing, sample layout and the order file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pnyx.errors import InvalidInputError
from pnyx.training.data import (
    Corpus,
    DatasetInfo,
    Layout,
    Packer,
    documents_at,
    order_header,
    order_line,
    read_order,
    truncate_order,
)
from pnyx.training.tokenizer import EOS_ID, train_bpe

TEXTS = [f"document number {i} " + "word " * (5 + 7 * (i % 5)) for i in range(12)]


def corpus() -> Corpus:
    info = DatasetInfo("d", 1, "ab" * 32, "text", "CC0-1.0", 12, ())
    return Corpus(
        [info],
        TEXTS,
        np.zeros(12, np.int32),
        np.arange(12, dtype=np.int64),
        ["00" * 32] * 12,
    )


def packer(seed: int = 0) -> Packer:
    return Packer(corpus(), train_bpe(TEXTS, 300, 1), 16, seed, EOS_ID)


def test_samples_tile_each_epoch_and_pieces_add_up() -> None:
    p = packer()
    assert p.samples_per_epoch == p.total_tokens // 16
    covered = []
    for g in range(p.samples_per_epoch):
        tokens, pieces = p.sample(g)
        assert len(tokens) == 16
        assert sum(end - first for _, _, first, end in pieces) == 16
        for _, doc, first, end in pieces:
            assert np.array_equal(p.doc_tokens[doc][first:end], tokens[: end - first])
            tokens = tokens[end - first :]
            covered.append(doc)
    assert set(covered) <= set(range(12)) and len(set(covered)) >= 11


def test_order_is_deterministic_per_seed_and_changes_per_epoch() -> None:
    a, b, c = packer(1), packer(1), packer(2)
    n = a.samples_per_epoch
    assert [a.sample(g)[1] for g in range(n)] == [b.sample(g)[1] for g in range(n)]
    assert [a.sample(g)[1] for g in range(n)] != [c.sample(g)[1] for g in range(n)]
    assert a.sample(0)[1] != a.sample(n)[1]  # epoch 1 is shuffled again


def test_layout_splits_a_step_over_ranks_and_micro_batches() -> None:
    lay = Layout(micro_batch=2, grad_accum=2, world_size=2)
    assert lay.global_batch == 8
    parts = [lay.micro_samples(3, m, r) for m in range(2) for r in range(2)]
    assert sorted(g for part in parts for g in part) == lay.step_samples(3)
    assert lay.micro_samples(3, 0, 1) == [26, 27]
    # the same global batch on 1 process x 4 micro-batches takes the same samples in order
    one = Layout(micro_batch=2, grad_accum=4, world_size=1)
    assert [g for m in range(4) for g in one.micro_samples(3, m, 0)] == lay.step_samples(3)


def test_order_file_round_trip_and_truncation(tmp_path: Path) -> None:
    p = packer()
    lay = Layout(2, 1, 1)
    path = tmp_path / "order.jsonl"
    lines = [order_header(corpus().datasets, 16, lay, 0)]
    lines += [
        order_line(step + 1, 0, [p.sample(g)[1] for g in lay.step_samples(step)])
        for step in range(4)
    ]
    path.write_text("".join(lines))
    header, steps = read_order(path)
    assert header["global_batch"] == 2 and sorted(steps) == [1, 2, 3, 4]
    docs = documents_at(path, 2)
    expected = {piece[1] for g in lay.step_samples(1) for piece in p.sample(g)[1]}
    assert {d["index"] for d in docs} == expected
    assert all(d["dataset"] == "d" and d["version"] == 1 for d in docs)
    truncate_order(path, 2)
    assert sorted(read_order(path)[1]) == [1, 2]
    with pytest.raises(InvalidInputError, match="no step 3"):
        documents_at(path, 3)
    assert json.loads(path.read_text().splitlines()[0])["order_file"] == 1


def test_too_little_data_is_refused() -> None:
    c = corpus()
    c.texts = ["hi"]
    c.doc_dataset, c.doc_index = c.doc_dataset[:1], c.doc_index[:1]
    with pytest.raises(InvalidInputError, match="fewer than one sequence"):
        Packer(c, train_bpe(TEXTS, 300, 1), 64, 0, EOS_ID)
