"""The SVG bar chart: structure, proportions, escaping, totals, colours."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pnyx.web.plots import (
    PALETTE,
    Bar,
    colour_map,
    describe,
    format_count,
    ordered_keys,
    relative_luminance,
    render_stacked_bars,
    text_colour_on,
)

NS = {"svg": "http://www.w3.org/2000/svg"}
BARS = [
    Bar("Alpha", {"h100": 3000, "mi300x": 1000}),
    Bar("Beta", {"h100": 500, "b200": 1500}),
    Bar("Gamma", {"tpu-v5p": 250}),
]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # our own output, parsed to check it is well formed


def bars_of(root: ET.Element) -> list[ET.Element]:
    return root.findall("svg:g[@class='bar']", NS)


def segment_widths(bar: ET.Element) -> dict[str, float]:
    rects = bar.findall("svg:rect[@class='segment']", NS)
    return {r.attrib["data-key"]: float(r.attrib["width"]) for r in rects}


def test_one_bar_per_site_in_order() -> None:
    root = parse(render_stacked_bars(BARS, title="Capacity"))
    labels = [b.attrib["data-label"] for b in bars_of(root)]
    assert labels == ["Alpha", "Beta", "Gamma"]


def test_segment_widths_are_proportional_to_counts() -> None:
    root = parse(render_stacked_bars(BARS, title="Capacity"))
    widths = {b.attrib["data-label"]: segment_widths(b) for b in bars_of(root)}
    unit = widths["Alpha"]["mi300x"] / 1000
    for label, segs in widths.items():
        bar = next(b for b in BARS if b.label == label)
        for key, width in segs.items():
            assert width == pytest.approx(bar.segments[key] * unit, abs=0.01)
    assert sum(widths["Alpha"].values()) == pytest.approx(2 * sum(widths["Beta"].values()), 0.01)


def test_segments_are_contiguous() -> None:
    root = parse(render_stacked_bars(BARS, title="Capacity"))
    rects = bars_of(root)[0].findall("svg:rect", NS)
    first_end = float(rects[0].attrib["x"]) + float(rects[0].attrib["width"])
    assert float(rects[1].attrib["x"]) == pytest.approx(first_end, abs=0.01)


def test_total_text_matches_the_sum() -> None:
    root = parse(render_stacked_bars(BARS, title="Capacity"))
    totals = [b.find("svg:text[@class='bar-total']", NS) for b in bars_of(root)]
    assert [t.text for t in totals if t is not None] == ["4,000", "2,000", "250"]


def test_labels_and_keys_are_escaped() -> None:
    evil = Bar('<script>alert("x")</script>', {'h&100"<': 7})
    svg = render_stacked_bars([evil], title="A & <b>", id_prefix="p")
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)  # well-formed XML despite the hostile text
    assert bars_of(root)[0].attrib["data-label"] == '<script>alert("x")</script>'
    assert root.find("svg:title", NS) is not None
    assert root.findtext("svg:title", namespaces=NS) == "A & <b>"
    legend = root.find("svg:g[@class='legend']/svg:text", NS)
    assert legend is not None
    assert legend.text == 'h&100"<'


def test_accessible_name_and_description() -> None:
    root = parse(render_stacked_bars(BARS, title="Capacity by site", id_prefix="cap"))
    assert root.attrib["role"] == "img"
    assert root.attrib["aria-labelledby"] == "cap-title cap-desc"
    desc = root.findtext("svg:desc", namespaces=NS) or ""
    assert "Alpha: 4,000 accelerators (h100 3,000, mi300x 1,000)" in desc


def test_legend_lists_each_type_once_with_consistent_colour() -> None:
    root = parse(render_stacked_bars(BARS, title="Capacity"))
    swatches = root.findall("svg:g[@class='legend']/svg:rect", NS)
    fills = {s.attrib["data-key"]: s.attrib["fill"] for s in swatches}
    assert list(fills) == ["h100", "b200", "mi300x", "tpu-v5p"]
    for bar in bars_of(root):
        for rect in bar.findall("svg:rect", NS):
            assert rect.attrib["fill"] == fills[rect.attrib["data-key"]]


def test_zero_counts_draw_no_segment_and_empty_chart_is_valid() -> None:
    root = parse(render_stacked_bars([Bar("Empty", {"h100": 0})], title="t"))
    assert segment_widths(bars_of(root)[0]) == {}
    assert root.findtext("svg:desc", namespaces=NS) == "Empty: 0 accelerators."
    empty = parse(render_stacked_bars([], title="t"))
    assert bars_of(empty) == []


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        Bar("x", {"h100": -1})


def test_ordered_keys_largest_first_then_name() -> None:
    assert ordered_keys([Bar("a", {"b": 1, "a": 1, "c": 5, "z": 0})]) == ["c", "a", "b"]


@pytest.mark.parametrize("fill", PALETTE)
def test_segment_text_colour_has_at_least_4_5_contrast(fill: str) -> None:
    text = text_colour_on(fill)
    lighter, darker = sorted([relative_luminance(fill), relative_luminance(text)], reverse=True)
    assert (lighter + 0.05) / (darker + 0.05) >= 4.5


def test_format_and_describe() -> None:
    assert format_count(100000) == "100,000"
    assert describe([], "nodes") == "No nodes."


def test_given_colours_fix_fills_and_order_across_charts() -> None:
    colours = colour_map(["b200", "h100", "mi300x"])
    root = parse(
        render_stacked_bars(
            [Bar("x", {"h100": 9, "b200": 1, "new": 2})], title="t", colours=colours
        )
    )
    rects = bars_of(root)[0].findall("svg:rect", NS)
    assert [r.attrib["data-key"] for r in rects] == ["b200", "h100", "new"]
    fills = {r.attrib["data-key"]: r.attrib["fill"] for r in rects}
    assert fills["b200"] == PALETTE[0]
    assert fills["h100"] == PALETTE[1]
    assert fills["new"] == PALETTE[3]  # after the three named keys
    swatches = root.findall("svg:g[@class='legend']/svg:rect", NS)
    assert [s.attrib["data-key"] for s in swatches] == ["b200", "h100", "new"]  # no mi300x
