"""Which training steps saw a document: a reader of the training recipe's order files.

An order file (JSON Lines, ``order_file: 1``; written by :mod:`pnyx.training.data`) starts
with a header listing the run's dataset versions; each later line is one step
``{"step", "epoch", "sequences": [[[dataset number, global index, first token, end token],
...], ...]}``. This module reads that format with the standard library only, so the search
service does not import torch.
"""

from __future__ import annotations

import json

from pnyx.errors import InvalidInputError

ORDER_FORMAT = 1


def steps_seeing(order: bytes, dataset: str, version: int, global_doc: int) -> list[int]:
    """The steps (1-based, ascending) whose sequences hold a piece of document ``global_doc``
    of ``dataset@version``; [] when the run did not train on that version or that document."""
    lines = order.splitlines()
    if not lines:
        raise InvalidInputError("order file is empty")
    try:
        header = json.loads(lines[0])
        if header.get("order_file") != ORDER_FORMAT:
            raise InvalidInputError(f"not an order file (format {ORDER_FORMAT})")
        numbers = [
            n
            for n, d in enumerate(header["datasets"])
            if d["dataset"] == dataset and d["version"] == version
        ]
        if not numbers:
            return []
        wanted = {(numbers[0], global_doc)}
        steps = []
        for line in lines[1:]:
            row = json.loads(line)
            if any((p[0], p[1]) in wanted for seq in row["sequences"] for p in seq):
                steps.append(int(row["step"]))
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise InvalidInputError(f"order file is malformed: {e!r}") from e
    return sorted(steps)
