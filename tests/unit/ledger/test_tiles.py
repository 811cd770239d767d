"""C2SP tlog-tiles paths and entry bundles."""

from __future__ import annotations

import pytest

from pnyx.errors import InvalidInputError
from pnyx.ledger.tiles import (
    Tile,
    decode_entry_bundle,
    encode_entry_bundle,
    parse_tile_path,
    render_index,
)


@pytest.mark.parametrize(
    ("index", "encoded"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_index_encoding_round_trips(index: int, encoded: str) -> None:
    assert render_index(index) == encoded
    assert parse_tile_path(f"0/{encoded}") == Tile(0, index)


@pytest.mark.parametrize(
    ("path", "tile"),
    [
        ("0/x001/234", Tile(0, 1234)),
        ("3/000.p/17", Tile(3, 0, 17)),
        ("entries/x002/005", Tile(None, 2005)),
        ("entries/001.p/255", Tile(None, 1, 255)),
    ],
)
def test_paths_parse_and_render(path: str, tile: Tile) -> None:
    assert parse_tile_path(path) == tile
    assert tile.render() == f"tile/{path}"


@pytest.mark.parametrize(
    "path",
    [
        "0",
        "01/000",
        "64/000",
        "0/1",
        "0/0001",
        "0/001/002",  # upper elements need the x prefix
        "0/x000/001",  # not canonical
        "0/000.p/0",
        "0/000.p/256",
        "0/000.p/07",
        "0/000.p",
        "x/000",
    ],
)
def test_malformed_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_tile_path(path)


def test_tile_coordinates() -> None:
    tile = Tile(1, 2, 5)
    assert (tile.node_level, tile.first_node) == (8, 512)
    assert tile.min_tree_size == (512 + 5) * 256
    assert Tile(None, 1).min_tree_size == 512
    assert Tile(0, 0, 3).is_partial and not Tile(0, 0).is_partial


def test_entry_bundle_round_trip_and_limits() -> None:
    entries = [b"", b"a", bytes(300), bytes(0xFFFF)]
    bundle = encode_entry_bundle(entries)
    assert bundle[:5] == b"\x00\x00\x00\x01a"
    assert decode_entry_bundle(bundle) == entries
    with pytest.raises(InvalidInputError, match="entry 1"):
        encode_entry_bundle([b"", bytes(0x10000)])
    with pytest.raises(InvalidInputError, match="truncated"):
        decode_entry_bundle(bundle[:-1])
