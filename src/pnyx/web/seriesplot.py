"""Server-side SVG charts for shares over time and before/after comparisons (pure, escaped).

Like :mod:`pnyx.web.plots`, a chart is an image with a title and a text description, and
every page that shows one lists the same numbers in a table. Each series carries
``data-*`` attributes with its points, so tests (and scripts) can read the plotted values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from pnyx.web.plots import colour_for

WIDTH = 680
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 40
DASHES = ("", "6 4", "2 3", "8 3 2 3")


@dataclass(frozen=True)
class Series:
    """One line: a name and one value per x position (``None``: no point there)."""

    name: str
    values: Sequence[float | None]


def _svg_head(title: str, desc: str, id_prefix: str, height: int) -> str:
    tid, did = f"{id_prefix}-title", f"{id_prefix}-desc"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}"'
        f' width="{WIDTH}" height="{height}" role="img" aria-labelledby="{tid} {did}"'
        ' font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="{tid}">{escape(title)}</title><desc id="{did}">{escape(desc)}</desc>'
    )


def _y(value: float, top: float) -> float:
    return round(TOP + (top - value) / top * (HEIGHT - TOP - BOTTOM), 1)


def _x(i: int, n: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return round(LEFT + (span / 2 if n == 1 else i * span / (n - 1)), 1)


def render_series_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    y_label: str,
    id_prefix: str,
    percent: bool = True,
) -> str:
    """Lines over ``x_labels`` (e.g. days), one per series, dashed differently and coloured
    (values are fractions shown as percentages when ``percent``)."""
    desc = "; ".join(
        f"{s.name}: "
        + ", ".join(
            f"{x} {_fmt(v, percent)}"
            for x, v in zip(x_labels, s.values, strict=True)
            if v is not None
        )
        for s in series
    )
    head = _svg_head(title, desc or "No data.", id_prefix, HEIGHT)
    values = [v for s in series for v in s.values if v is not None]
    if not x_labels or not values:
        return head + f'<text x="{LEFT}" y="{HEIGHT // 2}">no data</text></svg>'
    top = max(max(values), 1e-9) * 1.1
    parts = [_axes(x_labels, top, y_label, percent)]
    parts += [_line(s, k, len(x_labels), top) for k, s in enumerate(series)]
    parts.append(_legend([s.name for s in series]))
    return head + "".join(parts) + "</svg>"


def _fmt(value: float, percent: bool) -> str:
    return f"{100 * value:.1f} %" if percent else f"{value:,.3g}"


def _axes(x_labels: Sequence[str], top: float, y_label: str, percent: bool) -> str:
    bottom = HEIGHT - BOTTOM
    parts = [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#444"/>',
        f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="#444"/>',
    ]
    parts += [
        f'<text x="{LEFT - 6}" y="{_y(value, top) + 4}" text-anchor="end">'
        f"{_fmt(value, percent)}</text>"
        for value in (0.0, top / 2, top)
    ]
    n = len(x_labels)
    shown = {0, n - 1} | ({n // 2} if n > 2 else set())
    parts += [
        f'<text x="{_x(i, n)}" y="{bottom + 16}" text-anchor="middle">{escape(x_labels[i])}</text>'
        for i in sorted(shown)
    ]
    parts.append(f'<text x="4" y="{TOP - 12}" text-anchor="start">{escape(y_label)}</text>')
    return "".join(parts)


def _line(s: Series, k: int, n: int, top: float) -> str:
    colour = colour_for(k)
    dash = DASHES[k % len(DASHES)]
    points = [(_x(i, n), _y(v, top)) for i, v in enumerate(s.values) if v is not None]
    data = ",".join("" if v is None else f"{v:.6g}" for v in s.values)
    coords = " ".join(f"{x},{y}" for x, y in points)
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{colour}"/>' for x, y in points)
    style = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<g class="series" data-name="{escape(s.name)}" data-values="{data}">'
        f'<polyline fill="none" stroke="{colour}" stroke-width="2"{style} points="{coords}"/>'
        f"{dots}</g>"
    )


def _legend(names: Sequence[str]) -> str:
    parts = ['<g class="legend">']
    x = float(LEFT)
    for k, name in enumerate(names):
        colour, dash = colour_for(k), DASHES[k % len(DASHES)]
        style = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x}" y1="10" x2="{x + 24}" y2="10" stroke="{colour}" stroke-width="2"'
            f"{style}/>"
            f'<text x="{x + 30}" y="14">{escape(name)}</text>'
        )
        x += 30 + 7.2 * len(name) + 16
    parts.append("</g>")
    return "".join(parts)


def render_paired_bars(
    rows: Sequence[tuple[str, float, float]],
    *,
    title: str,
    id_prefix: str,
    labels: tuple[str, str] = ("before", "after"),
) -> str:
    """Two horizontal bars per row (label, before, after), values as fractions (percent)."""
    bar_h, gap = 10, 10
    label_w = 8 + 7.2 * min(max((len(r[0]) for r in rows), default=4), 24)
    height = TOP + len(rows) * (2 * bar_h + gap) + 8
    desc = "; ".join(
        f"{n}: {labels[0]} {100 * a:.1f} %, {labels[1]} {100 * b:.1f} %" for n, a, b in rows
    )
    head = _svg_head(title, desc or "No data.", id_prefix, height)
    biggest = max((max(a, b) for _, a, b in rows), default=0.0) or 1.0
    span = WIDTH - label_w - 80
    parts = [_legend(list(labels))]
    for i, (name, a, b) in enumerate(rows):
        y = TOP + i * (2 * bar_h + gap)
        parts.append(
            f'<g class="pair" data-label="{escape(name)}" data-before="{a:.6g}"'
            f' data-after="{b:.6g}"><text x="{label_w - 6}" y="{y + bar_h + 4}"'
            f' text-anchor="end">{escape(name)}</text>'
        )
        for k, value in enumerate((a, b)):
            width = round(value / biggest * span, 1)
            yy = y + k * bar_h
            parts.append(
                f'<rect x="{label_w}" y="{yy}" width="{width}" height="{bar_h - 1}"'
                f' fill="{colour_for(k)}" stroke="#1a1a1a" stroke-width="0.5"/>'
                f'<text x="{label_w + width + 4}" y="{yy + bar_h - 1}" font-size="10">'
                f"{100 * value:.1f} %</text>"
            )
        parts.append("</g>")
    return head + "".join(parts) + "</svg>"
