"""Server-side SVG charts: pure functions from numbers to an escaped SVG string.

The chart is an image for sighted readers only (``role="img"`` with a title and a text
description); every page that shows one also shows the same numbers in a table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from math import ceil

# Okabe-Ito colours (distinguishable with common colour-vision deficiencies); each segment
# also has a dark outline, so its edges show whatever the fill.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#6F4E9C",
)
CHAR_W = 7.2  # estimated advance of one character at font-size 12, in px
WIDTH = 760
BAR_H = 26
BAR_GAP = 14
TOTAL_W = 84
PAD = 8
LEGEND_ROW_H = 22


@dataclass(frozen=True)
class Bar:
    """One bar: a label and its segments (key -> count, counts >= 0)."""

    label: str
    segments: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        negative = {k: v for k, v in self.segments.items() if v < 0}
        if negative:
            raise ValueError(f"segment counts must be >= 0, got {negative} in bar {self.label!r}")

    @property
    def total(self) -> int:
        """Sum of the segments."""
        return sum(self.segments.values())


def format_count(n: int) -> str:
    """Thousands separated by commas: 100000 -> '100,000'."""
    return f"{n:,}"


def ordered_keys(bars: Sequence[Bar]) -> list[str]:
    """Segment keys, largest overall first (ties by name): this fixes colours and order."""
    totals: dict[str, int] = {}
    for bar in bars:
        for key, count in bar.segments.items():
            totals[key] = totals.get(key, 0) + count
    return sorted((k for k, v in totals.items() if v > 0), key=lambda k: (-totals[k], k))


def colour_for(index: int) -> str:
    """The fill for the ``index``-th key (the palette repeats past its end)."""
    return PALETTE[index % len(PALETTE)]


def text_colour_on(fill: str) -> str:
    """Black or white, whichever contrasts more with ``fill`` (#RRGGBB)."""
    lum = relative_luminance(fill)
    on_white = 1.05 / (lum + 0.05)
    on_black = (lum + 0.05) / 0.05
    return "#000000" if on_black >= on_white else "#ffffff"


def relative_luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of a #RRGGBB colour."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def shorten(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` with an ellipsis when longer."""
    return text if len(text) <= max_chars else text[: max_chars - 1] + "\u2026"


def describe(bars: Sequence[Bar], unit: str) -> str:
    """The chart in words, for the SVG's <desc>."""
    parts = []
    for bar in bars:
        detail = ", ".join(f"{k} {format_count(v)}" for k, v in bar.segments.items() if v > 0)
        suffix = f" ({detail})" if detail else ""
        parts.append(f"{bar.label}: {format_count(bar.total)} {unit}{suffix}")
    return "; ".join(parts) + "." if parts else f"No {unit}."


@dataclass(frozen=True)
class _Layout:
    label_w: float
    plot_w: float
    scale: float  # px per unit
    label_chars: int


def _layout(bars: Sequence[Bar]) -> _Layout:
    label_chars = min(max((len(b.label) for b in bars), default=4), 28)
    label_w = label_chars * CHAR_W + 2 * PAD
    plot_w = WIDTH - label_w - TOTAL_W - PAD
    biggest = max((b.total for b in bars), default=0)
    return _Layout(label_w, plot_w, plot_w / biggest if biggest else 0.0, label_chars)


def colour_map(keys: Sequence[str]) -> dict[str, str]:
    """A fill per key, in palette order: pass one map to every chart so colours agree."""
    return {k: colour_for(i) for i, k in enumerate(keys)}


def render_stacked_bars(
    bars: Sequence[Bar],
    *,
    title: str,
    unit: str = "accelerators",
    id_prefix: str = "chart",
    colours: Mapping[str, str] | None = None,
) -> str:
    """A horizontal stacked bar chart as an inline SVG element (all text escaped).

    ``colours`` fixes the fill of keys (e.g. the facility's types, so a site's chart matches
    the overview's); keys it lacks get palette colours after those it names.
    """
    rank = {k: i for i, k in enumerate(colours or {})}
    keys = sorted(ordered_keys(bars), key=lambda k: rank.get(k, len(rank)))
    colours = _complete(colours or {}, keys)
    layout = _layout(bars)
    rows = [_render_bar(bar, i, layout, keys, colours, unit) for i, bar in enumerate(bars)]
    legend_y = PAD + len(bars) * (BAR_H + BAR_GAP) + PAD
    legend, legend_h = _render_legend(keys, colours, legend_y)
    height = ceil(legend_y + legend_h + PAD)
    tid, did = f"{id_prefix}-title", f"{id_prefix}-desc"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}"'
        f' width="{WIDTH}" height="{height}" role="img" aria-labelledby="{tid} {did}"'
        ' font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="{tid}">{escape(title)}</title>'
        f'<desc id="{did}">{escape(describe(bars, unit))}</desc>'
        + "".join(rows)
        + legend
        + "</svg>"
    )


def _complete(colours: Mapping[str, str], keys: Sequence[str]) -> dict[str, str]:
    out = dict(colours)
    for key in keys:
        if key not in out:
            out[key] = colour_for(len(out))
    return out


def _render_bar(
    bar: Bar, row: int, layout: _Layout, keys: list[str], colours: Mapping[str, str], unit: str
) -> str:
    y = PAD + row * (BAR_H + BAR_GAP)
    text_y = y + BAR_H / 2 + 4
    parts = [
        f'<g class="bar" data-label="{escape(bar.label)}" data-total="{bar.total}">',
        f'<text class="bar-label" x="{layout.label_w - PAD:.2f}" y="{text_y:.2f}"'
        f' text-anchor="end">{escape(shorten(bar.label, layout.label_chars))}</text>',
    ]
    x = layout.label_w
    for key in keys:
        count = bar.segments.get(key, 0)
        if count > 0:
            width = count * layout.scale
            parts.append(_render_segment(bar.label, key, count, x, y, width, colours[key], unit))
            x += width
    parts.append(
        f'<text class="bar-total" x="{x + PAD:.2f}" y="{text_y:.2f}">'
        f"{format_count(bar.total)}</text></g>"
    )
    return "".join(parts)


def _render_segment(
    label: str, key: str, count: int, x: float, y: float, width: float, fill: str, unit: str
) -> str:
    tip = escape(f"{label}, {key}: {format_count(count)} {unit}")
    rect = (
        f'<rect class="segment" data-key="{escape(key)}" data-count="{count}" x="{x:.2f}"'
        f' y="{y}" width="{width:.2f}" height="{BAR_H}" fill="{fill}" stroke="#1a1a1a"'
        f' stroke-width="0.75"><title>{tip}</title></rect>'
    )
    text = format_count(count)
    if width < len(text) * CHAR_W + PAD:
        return rect
    return rect + (
        f'<text class="segment-label" x="{x + width / 2:.2f}" y="{y + BAR_H / 2 + 4:.2f}"'
        f' text-anchor="middle" fill="{text_colour_on(fill)}">{text}</text>'
    )


def _render_legend(keys: list[str], colours: Mapping[str, str], top: float) -> tuple[str, float]:
    parts = ['<g class="legend">']
    x, y = float(PAD), top
    for key in keys:
        item_w = 12 + 6 + len(key) * CHAR_W + 2 * PAD
        if x + item_w > WIDTH and x > PAD:
            x, y = float(PAD), y + LEGEND_ROW_H
        parts.append(
            f'<rect class="swatch" data-key="{escape(key)}" x="{x:.2f}" y="{y:.2f}" width="12"'
            f' height="12" fill="{colours[key]}" stroke="#1a1a1a" stroke-width="0.75"/>'
            f'<text class="legend-label" x="{x + 18:.2f}" y="{y + 10:.2f}">{escape(key)}</text>'
        )
        x += item_w
    parts.append("</g>")
    height = (y - top + LEGEND_ROW_H) if keys else 0.0
    return "".join(parts), height
