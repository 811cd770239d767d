"""Shard formats: canonical JSONL lines, strict reading, deterministic media tars."""

from __future__ import annotations

import hashlib
import json

import pytest

from pnyx.data.shards import (
    MediaSample,
    TextRecord,
    read_media_shard,
    read_text_shard,
    write_media_shard,
    write_text_shard,
)
from pnyx.errors import InvalidInputError


def _records() -> list[TextRecord]:
    return [
        TextRecord.of("a.py#0", "def f():\n    return 'é'\n", "file:///usr/lib/python3.11/a.py"),
        TextRecord.of("b.txt#0", 'line with "quotes" and \t tab', "debian:python3.11-doc"),
    ]


def test_text_shard_roundtrip_and_canonical_lines() -> None:
    recs = _records()
    data = write_text_shard(recs)
    assert read_text_shard(data) == recs
    lines = data.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 3
    first = json.loads(lines[0])
    assert first["sha256"] == hashlib.sha256(recs[0].text.encode()).hexdigest()
    expected = json.dumps(first, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert lines[0] == expected.encode()
    assert "é".encode() in lines[0]  # no ASCII escaping


def test_empty_shard() -> None:
    assert write_text_shard([]) == b""
    assert read_text_shard(b"") == []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.replace(b"return", b"retvrn", 1), "line 1: sha256 does not match"),
        (lambda d: d + b"{not json}\n", "line 3: not UTF-8 JSON"),
        (lambda d: d[:-1], "does not end in a newline"),
        (lambda d: d.replace(b'{"id"', b'{ "id"', 1), "line 1: not in canonical form"),
        (lambda d: d + b'{"id":"x"}\n', "line 3: expected exactly the keys"),
    ],
)
def test_malformed_shards_name_the_line(mutate: object, message: str) -> None:
    data = write_text_shard(_records())
    with pytest.raises(InvalidInputError, match=message):
        read_text_shard(mutate(data))  # type: ignore[operator]


def test_media_shard_is_deterministic_and_roundtrips() -> None:
    samples = [
        MediaSample("img0", "png", b"\x89PNG fake", {"width": 2, "height": 3, "source": "s"}),
        MediaSample("img1", "jpg", b"\xff\xd8 fake", {"width": 4, "height": 5, "source": "s"}),
    ]
    one = write_media_shard(samples)
    assert one == write_media_shard(samples)
    back = read_media_shard(one)
    assert [s.key for s in back] == ["img0", "img1"]
    assert back[0].data == samples[0].data and back[0].meta == samples[0].meta


def test_media_shard_rejects_bad_keys_and_tampering() -> None:
    with pytest.raises(InvalidInputError, match="bad key"):
        write_media_shard([MediaSample("a.b", "png", b"x")])
    with pytest.raises(InvalidInputError, match="duplicate"):
        write_media_shard([MediaSample("a", "png", b"x"), MediaSample("a", "wav", b"y")])
    data = write_media_shard([MediaSample("a", "wav", b"RIFF1234")])
    with pytest.raises(InvalidInputError, match="does not match"):
        read_media_shard(data.replace(b"RIFF1234", b"RIFF9999"))
