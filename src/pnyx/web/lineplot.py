"""Server-side SVG line charts (training loss, tokens per second): pure, all text escaped.

Like :mod:`pnyx.web.plots`, a chart is an image with a title and a text description; the page
that shows it also lists the numbers in a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from pnyx.web.plots import colour_for

WIDTH = 640
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 36


def format_value(value: float) -> str:
    """A short label for an axis value (3 significant digits, thousands separated)."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def render_line_chart(
    points: Sequence[tuple[int, float]],
    *,
    title: str,
    y_label: str,
    id_prefix: str,
    colour_index: int = 0,
) -> str:
    """``points`` (step, value), step-ordered, as an inline SVG line chart."""
    tid, did = f"{id_prefix}-title", f"{id_prefix}-desc"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{tid} {did}"'
        ' font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="{tid}">{escape(title)}</title>'
        f'<desc id="{did}">{escape(describe(points, y_label))}</desc>'
    )
    if not points:
        return head + f'<text x="{LEFT}" y="{HEIGHT // 2}">no data yet</text></svg>'
    return head + _axes(points, y_label) + _line(points, colour_for(colour_index)) + "</svg>"


def describe(points: Sequence[tuple[int, float]], y_label: str) -> str:
    """One sentence saying what the chart shows."""
    if not points:
        return f"No {y_label} reported yet."
    (s0, v0), (s1, v1) = points[0], points[-1]
    return (
        f"{y_label} over {len(points)} steps: {format_value(v0)} at step {s0}, "
        f"{format_value(v1)} at step {s1}."
    )


def _scale(points: Sequence[tuple[int, float]]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    return x0, x1, y0, y1


def _xy(step: float, value: float, box: tuple[float, float, float, float]) -> tuple[float, float]:
    x0, x1, y0, y1 = box
    x = LEFT + (step - x0) / (x1 - x0) * (WIDTH - LEFT - RIGHT)
    y = TOP + (y1 - value) / (y1 - y0) * (HEIGHT - TOP - BOTTOM)
    return round(x, 1), round(y, 1)


def _axes(points: Sequence[tuple[int, float]], y_label: str) -> str:
    x0, x1, y0, y1 = box = _scale(points)
    bottom = HEIGHT - BOTTOM
    parts = [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#444"/>',
        f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="#444"/>',
    ]
    for value in (y0, (y0 + y1) / 2, y1):
        _, y = _xy(x0, value, box)
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end">{format_value(value)}</text>'
        )
    for step in (x0, x1):
        x, _ = _xy(step, y0, box)
        parts.append(f'<text x="{x}" y="{bottom + 16}" text-anchor="middle">{int(step)}</text>')
    parts.append(
        f'<text x="{(LEFT + WIDTH) // 2}" y="{HEIGHT - 4}" text-anchor="middle">step</text>'
        f'<text x="{LEFT}" y="14" text-anchor="middle">{escape(y_label)}</text>'
    )
    return "".join(parts)


def _line(points: Sequence[tuple[int, float]], colour: str) -> str:
    box = _scale(points)
    coords = " ".join(f"{x},{y}" for x, y in (_xy(s, v, box) for s, v in points))
    dot = ""
    if len(points) == 1:
        x, y = _xy(points[0][0], points[0][1], box)
        dot = f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>'
    return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>' + dot
