"""C2SP tlog-tiles: tile paths, tile coordinates and entry bundles (pure).

A tile at level ``L`` holds, for ``i`` in ``0 .. W-1``, the hash of the complete subtree at tree
level ``8 * L`` and index ``N * 256 + i`` (RFC 9162 addressing: it covers ``256**L`` leaves).
``W`` is 256 for a full tile, 1-255 for a partial one. Entry bundles (``tile/entries/N``) hold
the leaf data of the level-0 tile ``N``, each prefixed by its big-endian uint16 length.
Paths encode ``N`` in zero-padded 3-digit elements, all but the last prefixed with ``x``:
index 1234067 is ``x001/x234/067`` (c2sp.org/tlog-tiles).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pnyx.errors import InvalidInputError

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes, 8,192 bytes
MAX_LEVEL = 63
MAX_ENTRY_BYTES = 0xFFFF
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_ELEMENT = re.compile(r"[0-9]{3}")


@dataclass(frozen=True)
class Tile:
    """A tile (``level`` >= 0) or an entry bundle (``level`` None) of ``width`` items."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if self.level is not None and not 0 <= self.level <= MAX_LEVEL:
            raise InvalidInputError(f"tile level {self.level} is outside 0..{MAX_LEVEL}")
        if self.index < 0:
            raise InvalidInputError(f"tile index must be >= 0, got {self.index}")
        if not 1 <= self.width <= TILE_WIDTH:
            raise InvalidInputError(f"tile width {self.width} is outside 1..{TILE_WIDTH}")

    @property
    def is_partial(self) -> bool:
        """True for a tile narrower than 256."""
        return self.width < TILE_WIDTH

    @property
    def node_level(self) -> int:
        """The tree level of the hashes in this tile (entry bundles: the leaves, level 0)."""
        return TILE_HEIGHT * (self.level or 0)

    @property
    def first_node(self) -> int:
        """Index, at :attr:`node_level`, of the first hash (or entry) in this tile."""
        return self.index * TILE_WIDTH

    @property
    def min_tree_size(self) -> int:
        """The smallest tree that holds every item of this tile."""
        return (self.first_node + self.width) << self.node_level

    def render(self) -> str:
        """The path below the log prefix, e.g. ``tile/0/x001/234.p/17``."""
        kind = "entries" if self.level is None else str(self.level)
        suffix = f".p/{self.width}" if self.is_partial else ""
        return f"tile/{kind}/{render_index(self.index)}{suffix}"


def render_index(index: int) -> str:
    """Encode a tile index as 3-digit path elements, e.g. 1234067 -> ``x001/x234/067``."""
    if index < 0:
        raise InvalidInputError(f"tile index must be >= 0, got {index}")
    elements = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        elements.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(elements))


def parse_tile_path(path: str) -> Tile:
    """Parse ``<L>/<N>[.p/<W>]`` or ``entries/<N>[.p/<W>]`` (the part after ``tile/``)."""
    parts = path.strip("/").split("/")
    if len(parts) < 2:
        raise InvalidInputError(f"tile path {path!r} needs a level and an index")
    level = None if parts[0] == "entries" else _parse_decimal(parts[0], "tile level")
    elements, width = parts[1:], TILE_WIDTH
    if len(elements) >= 2 and elements[-2].endswith(".p"):
        width = _parse_decimal(elements[-1], "partial tile width")
        if width >= TILE_WIDTH:
            raise InvalidInputError(f"partial tile width {width} must be 1..{TILE_WIDTH - 1}")
        elements = [*elements[:-2], elements[-2].removesuffix(".p")]
    return Tile(level, _parse_index(elements, path), width)


def _parse_decimal(text: str, what: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise InvalidInputError(f"{what} {text!r} is not a decimal without leading zeros")
    return int(text)


def _parse_index(elements: Sequence[str], path: str) -> int:
    *upper, last = elements
    digits = [e[1:] for e in upper if e.startswith("x")] + [last]
    if len(digits) != len(elements) or not all(_ELEMENT.fullmatch(d) for d in digits):
        raise InvalidInputError(
            f"tile path {path!r}: the index must be 3-digit elements, all but the last "
            "prefixed with 'x' (e.g. x001/x234/067)"
        )
    if len(digits) > 1 and digits[0] == "000":
        raise InvalidInputError(f"tile path {path!r}: the index has a leading x000 element")
    return int("".join(digits))


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Concatenate entries, each as big-endian uint16 length + bytes."""
    out = bytearray()
    for position, entry in enumerate(entries):
        if len(entry) > MAX_ENTRY_BYTES:
            raise InvalidInputError(
                f"entry {position} of the bundle has {len(entry)} bytes; bundles hold at most "
                f"{MAX_ENTRY_BYTES}"
            )
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def decode_entry_bundle(bundle: bytes) -> list[bytes]:
    """Split an entry bundle back into entries; raise InvalidInputError if truncated."""
    entries, position = [], 0
    while position < len(bundle):
        if position + 2 > len(bundle):
            raise InvalidInputError(f"entry bundle truncated at byte {position}")
        size = int.from_bytes(bundle[position : position + 2], "big")
        end = position + 2 + size
        if end > len(bundle):
            raise InvalidInputError(f"entry bundle truncated in the entry at byte {position}")
        entries.append(bundle[position + 2 : end])
        position = end
    return entries
