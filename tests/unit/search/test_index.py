"""The suffix-array index agrees with a naive scan; matches never cross document boundaries."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.search import index as idx
from pnyx.data.search.build import build_shard_index
from pnyx.data.search.corpus import shard_text
from pnyx.data.search.index import ShardIndex, StaleIndexError, open_index
from pnyx.data.search.layout import parse_index_manifest
from pnyx.data.shards import TextRecord, write_text_shard
from pnyx.errors import InvalidInputError, NotFoundError

# A small alphabet (with multi-byte characters) so random substrings match often.
ALPHABET = st.sampled_from(list("ab a\nbé€😀"))
DOCS = st.lists(st.text(ALPHABET, max_size=30), min_size=1, max_size=8)


def shard_of(texts: list[str]) -> bytes:
    """A JSONL shard holding ``texts`` as documents d0, d1, ..."""
    return write_text_shard(TextRecord.of(f"d{i}", t, "test") for i, t in enumerate(texts))


def naive_count(texts: list[str], pattern: bytes) -> int:
    """Overlapping occurrences of ``pattern`` inside each document, summed."""
    total = 0
    for text in texts:
        data = text.encode()
        start = data.find(pattern)
        while start != -1:
            total += 1
            start = data.find(pattern, start + 1)
    return total


def naive_positions(texts: list[str], pattern: bytes) -> list[tuple[int, int]]:
    """Every (doc, byte offset) of ``pattern``."""
    out = []
    for doc, text in enumerate(texts):
        data = text.encode()
        out += [(doc, i) for i in range(len(data)) if data.startswith(pattern, i)]
    return out


def built(texts: list[str]) -> Iterator[ShardIndex]:
    """Build and open an index of ``texts`` in a throw-away store."""
    with tempfile.TemporaryDirectory() as tmp:
        store = ArtifactStore(Path(tmp))
        shard = shard_of(texts)
        result = build_shard_index(store, shard, "0" * 64)
        try:
            yield open_index(store, result.index_sha256)
        finally:
            idx.close_all()


@st.composite
def corpus_and_query(draw: st.DrawFn) -> tuple[list[str], bytes]:
    """Documents and a query: a substring of the documents joined (it may cross a boundary)."""
    texts = draw(DOCS)
    joined = "\x00".join(texts)  # the query may cover a boundary ("\x00" then stands for it)
    if not joined:
        return texts, b"a"
    start = draw(st.integers(0, len(joined) - 1))
    end = draw(st.integers(start + 1, min(len(joined), start + 6)))
    query = joined[start:end]
    if "\x00" in query:  # join across the boundary with real text, as a search would see it
        query = query.replace("\x00", draw(st.sampled_from(["", "a", " "])))
    return texts, (query or "a").encode()


@settings(max_examples=150, deadline=None)
@given(corpus_and_query())
def test_count_equals_naive_scan(case: tuple[list[str], bytes]) -> None:
    texts, pattern = case
    for index in built(texts):
        assert index.count(pattern) == naive_count(texts, pattern)


@settings(max_examples=100, deadline=None)
@given(corpus_and_query())
def test_locate_returns_every_occurrence(case: tuple[list[str], bytes]) -> None:
    texts, pattern = case
    for index in built(texts):
        expected = naive_positions(texts, pattern)
        hits = index.locate(pattern, limit=len(expected) + 5)
        assert [(h.doc, h.offset) for h in hits] == expected


def test_boundary_crossing_text_does_not_match() -> None:
    texts = ["hello wor", "ld again"]
    for index in built(texts):
        assert index.count(b"world") == 0
        assert index.count(b"wor") == 1
        assert index.count(b"ld a") == 1
        assert index.count(b"r\xffl") == 0  # even a query naming the separator


def test_snippet_is_cut_at_the_document() -> None:
    texts = ["first doc", "the needle is here", "last"]
    for index in built(texts):
        [hit] = index.locate(b"needle", 10)
        snippet = index.snippet(hit, len(b"needle"), context=100)
        assert (hit.doc, hit.offset) == (1, 4)
        assert (snippet.before, snippet.match, snippet.after) == ("the ", "needle", " is here")
        assert index.ids[hit.doc] == index.doc_id(1) == "d1"
        assert index.record_sha256(1) == hashlib.sha256(b"the needle is here").hexdigest()


def test_layout_sizes_and_offsets() -> None:
    texts = ["ab", "", "é"]
    corpus = shard_text(shard_of(texts))
    assert corpus.text == b"ab\xff\xff\xc3\xa9\xff"
    assert corpus.starts.tolist() == [0, 3, 4, 7]
    for index in built(texts):
        assert len(index.sa) == len(corpus.text) - 3  # separator suffixes are dropped
        assert index.document_bytes(2) == "é".encode()


def test_index_is_deterministic(tmp_path: Path) -> None:
    shard = shard_of(["same text", "again and again"])
    first = build_shard_index(ArtifactStore(tmp_path / "a"), shard, "1" * 64)
    second = build_shard_index(ArtifactStore(tmp_path / "b"), shard, "1" * 64)
    assert first.index_sha256 == second.index_sha256
    m, text_bytes = first.manifest, len(b"same textagain and again")
    assert (m.text.bytes, m.sa.bytes, m.docs.bytes) == (text_bytes + 2, 4 * text_bytes, 8 * 3)


def test_changed_index_file_is_refused(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    result = build_shard_index(store, shard_of(["needle in a haystack"]), "2" * 64)
    assert open_index(store, result.index_sha256).count(b"needle") == 1
    sa_path = store.path(result.manifest.sa.sha256)
    data = bytearray(sa_path.read_bytes())
    data[0] ^= 1
    sa_path.write_bytes(bytes(data))
    with pytest.raises(StaleIndexError, match="its sa file"):
        open_index(store, result.index_sha256)
    sa_path.unlink()
    with pytest.raises(NotFoundError, match="sa"):
        open_index(store, result.index_sha256)
    idx.close_all()


def test_manifest_round_trip_and_tamper(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    result = build_shard_index(store, shard_of(["x"]), "3" * 64)
    data = result.manifest.to_bytes()
    assert parse_index_manifest(data) == result.manifest
    with pytest.raises(InvalidInputError):
        parse_index_manifest(data.replace(b'"records":1', b'"records":2'))
    with pytest.raises(InvalidInputError):
        parse_index_manifest(data + b" ")


def test_malformed_shard_names_the_line() -> None:
    with pytest.raises(InvalidInputError, match="line 2"):
        shard_text(shard_of(["ok"]) + b"not json\n")
    with pytest.raises(InvalidInputError, match="newline"):
        shard_text(b'{"id":"a","text":"b"}')


def test_steps_seeing_reads_order_files() -> None:
    from pnyx.data.search.order import steps_seeing

    header = {
        "order_file": 1,
        "datasets": [{"dataset": "x", "version": 1}, {"dataset": "t", "version": 2}],
    }
    lines = [
        header,
        {"step": 1, "epoch": 0, "sequences": [[[1, 5, 0, 10]], [[0, 5, 0, 3]]]},
        {"step": 2, "epoch": 0, "sequences": [[[1, 6, 0, 10], [1, 5, 10, 20]]]},
        {"step": 3, "epoch": 0, "sequences": [[[0, 5, 0, 10]]]},
    ]
    order = "".join(json.dumps(x) + "\n" for x in lines).encode()
    assert steps_seeing(order, "t", 2, 5) == [1, 2]
    assert steps_seeing(order, "x", 1, 5) == [1, 3]
    assert steps_seeing(order, "t", 1, 5) == []
    with pytest.raises(InvalidInputError):
        steps_seeing(b'{"order_file": 2}\n', "t", 2, 5)


def test_query_validation() -> None:
    from pnyx.data.search.query import MAX_QUERY_BYTES, check_limit, encode_query

    assert encode_query("é") == "é".encode()
    with pytest.raises(InvalidInputError, match="empty"):
        encode_query("")
    with pytest.raises(InvalidInputError, match="1 MiB"):
        encode_query("é" * (MAX_QUERY_BYTES // 2 + 1))
    with pytest.raises(InvalidInputError, match="Unicode"):
        encode_query("\ud800")
    with pytest.raises(InvalidInputError, match="limit"):
        check_limit(1001)
