"""Multiple-choice items and the benchmark shipped with pnyx (no torch: importable anywhere)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pnyx.evaluation import pycloze


@dataclass(frozen=True)
class MCItem:
    """A multiple-choice item: the context, its choices (continuations) and the answer's index."""

    context: str
    choices: tuple[str, ...]
    answer: int

    def __post_init__(self) -> None:
        if not 0 <= self.answer < len(self.choices) or len(self.choices) < 2:
            raise ValueError(f"item {self.context!r}: answer {self.answer} out of range")


def shuffled(item: MCItem) -> MCItem:
    """The item with its choices in a fixed pseudo-random order (by the context's hash), so an
    untrained model that scores all choices alike is not credited with the first position."""
    seed = int.from_bytes(hashlib.sha256(item.context.encode()).digest()[:8], "big")
    order = sorted(range(len(item.choices)), key=lambda i: (seed >> (i * 8)) % 251 * 8 + i)
    return MCItem(item.context, tuple(item.choices[i] for i in order), order.index(item.answer))


def benchmark_items() -> list[MCItem]:
    """The multiple-choice items shipped with pnyx (pycloze-v1)."""
    return [MCItem(c, choices, a) for c, choices, a in pycloze.ITEMS]
