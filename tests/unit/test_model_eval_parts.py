"""Evaluation pieces and the run plots: choice shuffling, the benchmark data, the order-file
reader, SVG line charts (pure)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from pnyx.errors import InvalidInputError
from pnyx.evaluation import pycloze
from pnyx.evaluation.items import MCItem, benchmark_items, shuffled
from pnyx.services.evaluation import seen_documents
from pnyx.web.lineplot import describe, render_line_chart


def test_benchmark_items_are_valid_and_distinct() -> None:
    items = benchmark_items()
    assert len(items) == len(pycloze.ITEMS) >= 40
    assert len({i.context for i in items}) == len(items)
    assert all(len(set(i.choices)) == len(i.choices) for i in items)
    assert pycloze.LICENSE == "CC0-1.0"


def test_shuffling_keeps_the_answer_and_spreads_positions() -> None:
    items = benchmark_items()
    mixed = [shuffled(i) for i in items]
    for raw, mix in zip(items, mixed, strict=True):
        assert mix.choices[mix.answer] == raw.choices[raw.answer]
        assert sorted(mix.choices) == sorted(raw.choices)
        assert shuffled(raw) == mix  # deterministic
    positions = {mix.answer for mix in mixed}
    assert len(positions) >= 3  # an untrained model's ties do not all land on the answer


def test_bad_item_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        MCItem("x", ("a", "b"), 2)


def _order(*steps: list[list[list[int]]]) -> bytes:
    header = {
        "order_file": 1,
        "datasets": [
            {"dataset": "code", "version": 1, "manifest_sha256": "0" * 64},
            {"dataset": "docs", "version": 3, "manifest_sha256": "1" * 64},
        ],
    }
    rows = [header] + [{"step": i + 1, "epoch": 0, "sequences": s} for i, s in enumerate(steps)]
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_seen_documents_reads_every_piece() -> None:
    order = _order([[[0, 5, 0, 10], [1, 2, 0, 54]], [[0, 5, 10, 64]]], [[[0, 7, 3, 9]]])
    assert seen_documents(order) == {("code@1", 5), ("docs@3", 2), ("code@1", 7)}
    assert seen_documents(_order()) == set()


@pytest.mark.parametrize("data", [b"", b"{}\n", b'{"datasets": []}\n{"step": 1}\n', b"not json"])
def test_malformed_order_files_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidInputError, match="order file"):
        seen_documents(data)


def test_line_chart_is_valid_svg_with_escaped_text() -> None:
    svg = render_line_chart(
        [(1, 5.0), (2, 4.5), (3, 4.0)], title="loss <of> run", y_label="loss", id_prefix="l"
    )
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "loss <of> run"  # type: ignore[union-attr]
    points = root.find(f"{ns}polyline").get("points").split()  # type: ignore[union-attr]
    assert len(points) == 3
    ys = [float(p.split(",")[1]) for p in points]
    assert ys[0] < ys[-1]  # falling loss is drawn downwards (SVG y grows down)
    assert describe([(1, 5.0), (3, 4.0)], "loss") == "loss over 2 steps: 5 at step 1, 4 at step 3."


def test_line_chart_without_points_says_so() -> None:
    svg = render_line_chart([], title="t", y_label="loss", id_prefix="e")
    assert "no data yet" in svg and ET.fromstring(svg) is not None
    single = ET.fromstring(render_line_chart([(4, 2.0)], title="t", y_label="x", id_prefix="s"))
    assert single.find("{http://www.w3.org/2000/svg}circle") is not None
