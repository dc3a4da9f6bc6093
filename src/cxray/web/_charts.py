"""Plotly figures as HTML fragments, and the SVG sparkline of an overview tile.

Each fragment holds its figure in a ``<script type="application/json">`` block, never an
inline script (the dashboard's Content-Security-Policy says ``script-src 'self'``); the page
loads ``plotly.min.js`` from ``/static/plotly.min.js`` (the installed plotly package, never a
CDN) and ``/static/cxray-charts.js``, which draws every block with ``Plotly.newPlot``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from markupsafe import Markup, escape

__all__ = [
    "LabelSpot",
    "bubble_radius",
    "place_bubble_labels",
    "segments_chart",
    "sparkline",
    "trend_chart",
]

INK = "#1f2328"
BLUE = "#0a58ca"
BAND = "rgba(10, 88, 202, 0.15)"
_CONFIG = {"displaylogo": False, "responsive": True}


def _html(
    fig: go.Figure,
    div_id: str,
    *,
    legend: dict[str, Any] | None = None,
    margin: dict[str, int] | None = None,
) -> Markup:
    fig.update_layout(
        margin=margin or {"l": 56, "r": 16, "t": 16, "b": 48},
        paper_bgcolor="white",
        plot_bgcolor="white",
        font={"color": INK, "size": 13},
        showlegend=True,
        legend=legend or {"orientation": "h", "y": -0.2},
    )
    fig.update_xaxes(showgrid=False, linecolor="#8c959f")
    fig.update_yaxes(gridcolor="#d0d7de", zerolinecolor="#8c959f")
    # no inline script (the Content-Security-Policy allows none): the figure travels as a JSON
    # block that /static/cxray-charts.js draws; every "<" is escaped so no text closes the block
    figure = json.loads(fig.to_json())
    figure["config"] = _CONFIG
    data = json.dumps(figure, separators=(",", ":")).replace("<", "\\u003c")
    return Markup(
        f'<div class="cx-chart"><div id="{escape(div_id)}" class="plotly-graph-div"></div>'
        f'<script type="application/json" class="cx-figure" data-for="{escape(div_id)}">'
        f"{data}</script></div>"
    )


GOOD = "#1a7f37"
BAD = "#cf222e"


def trend_chart(
    records: list[dict[str, Any]],
    title: str,
    *,
    threshold: Any = None,
    direction: str | None = None,
) -> Markup:
    """Estimate over periods with its interval as a band; significant changes marked (the
    triangle points with the change, green when better for a KPI of known ``direction``,
    red when worse); the ``threshold``'s target and action lines across."""
    shown = [r for r in records if r["estimate"] is not None]
    x = [r["period"] for r in shown]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[r["ci_high"] for r in shown],
            mode="lines",
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[r["ci_low"] for r in shown],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=BAND,
            name="95% interval",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[r["estimate"] for r in shown],
            mode="lines+markers",
            name=title,
            line={"color": BLUE, "width": 2.5},
            marker={"size": 7},
            customdata=[r["n"] for r in shown],
            hovertemplate="%{x}: %{y:.1f} (n=%{customdata})<extra></extra>",
        )
    )
    for value, name, colour, dash in (
        (getattr(threshold, "target", None), "target", GOOD, "solid"),
        (getattr(threshold, "action", None), "action threshold", BAD, "dash"),
    ):
        if value is not None and x:
            line = {"color": colour, "width": 1.5, "dash": dash}
            fig.add_hline(y=value, line=line)  # across the whole plot, whatever the periods
            # its legend entry: a line of one point draws nothing
            fig.add_trace(
                go.Scatter(
                    x=x[:1], y=[value], mode="lines", name=f"{name} {value:g}", line=line,
                    hoverinfo="skip",
                )
            )  # fmt: skip
    sig = [r for r in shown if r.get("significant")]

    def tone(change: float) -> str:
        if direction is None or change == 0:
            return "#bc4c00"
        return GOOD if (change > 0) == (direction == "higher_is_better") else BAD

    if sig:
        fig.add_trace(
            go.Scatter(
                x=[r["period"] for r in sig],
                y=[r["estimate"] for r in sig],
                mode="markers",
                name="significant change (BH)",
                marker={
                    "size": 15,
                    "symbol": ["triangle-up" if r["change"] > 0 else "triangle-down" for r in sig],
                    "color": [tone(r["change"]) for r in sig],
                    "line": {"color": INK, "width": 1},
                },
                customdata=[[r["change"], r["q_value"]] for r in sig],
                hovertemplate="%{x}: change %{customdata[0]:+.1f}, q=%{customdata[1]:.3f}"
                "<extra></extra>",
            )
        )
    fig.update_xaxes(type="category")
    # the legend above: the rotated periods of a phone need the room below
    return _html(fig, "trend-chart", legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})


def segments_chart(records: list[dict[str, Any]], by: str, title: str) -> Markup:
    """Each segment's estimate with its interval, best first (top)."""
    shown = [r for r in records if r["estimate"] is not None][::-1]
    labels = ["(missing)" if r.get(by) is None else str(r[by]) for r in shown]
    fig = go.Figure(
        go.Scatter(
            x=[r["estimate"] for r in shown],
            y=labels,
            mode="markers",
            name=title,
            marker={"size": 10, "color": BLUE},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [r["ci_high"] - r["estimate"] for r in shown],
                "arrayminus": [r["estimate"] - r["ci_low"] for r in shown],
                "color": BLUE,
                "thickness": 2,
            },
            customdata=[[r["ci_low"], r["ci_high"], r["n"]] for r in shown],
            hovertemplate="%{y}: %{x:.1f} [%{customdata[0]:.1f}, %{customdata[1]:.1f}], "
            "n=%{customdata[2]}<extra></extra>",
        )
    )
    fig.update_yaxes(type="category", title=by, automargin=True)
    fig.update_xaxes(title=title)
    fig.update_layout(height=max(260, 60 + 34 * len(shown)))
    return _html(fig, "segments-chart")


def sparkline(values: list[float | None], *, width: int = 120, height: int = 32) -> Markup:
    """A small inline SVG line of the monthly values (no script: light on a phone)."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return Markup("")
    lo = min(v for _, v in points)
    hi = max(v for _, v in points)
    span = (hi - lo) or 1.0
    step = (width - 4) / max(1, len(values) - 1)
    coords = " ".join(
        f"{2 + i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}" for i, v in points
    )
    last_x, last_y = coords.split(" ")[-1].split(",")
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-hidden="true" focusable="false"><polyline points="{coords}" fill="none" '
        f'stroke="currentColor" stroke-width="1.8"/><circle cx="{last_x}" cy="{last_y}" r="2.5" '
        'fill="currentColor"/></svg>'
    )


# ---------------------------------------------------------------- bubble labels (the Text page)

#: the themes chart's plot area: its height, and the widths it is drawn at: one layout of the
#: labels for a screen from ``BUBBLE_MIN_WIDTH`` to the page's widest box, another for a phone
#: (``BUBBLE_PHONE_WIDTH`` up to ``BUBBLE_MIN_WIDTH``), below which it scrolls sideways
BUBBLE_HEIGHT = 460
BUBBLE_MARGIN = {"l": 56, "r": 16, "t": 24, "b": 48}
BUBBLE_PHONE_WIDTH = 300
BUBBLE_MIN_WIDTH = 600
BUBBLE_MAX_WIDTH = 1160
BUBBLE_MAX_RADIUS = 30.0
BUBBLE_MIN_RADIUS = 6.0
LABEL_FONT = 12
LABEL_CHARS = 24
_GAP = 3.0
_LEADER = 30.0


@dataclass(frozen=True)
class LabelSpot:
    """Where a bubble's label goes: its box's centre ``dx``, ``dy`` pixels from the bubble's
    centre (``dy`` up), its size, and whether a leader line joins them; or, when no spot is
    free, ``number`` (shown in the bubble, the label in a numbered key under the chart)."""

    text: str
    dx: float = 0.0
    dy: float = 0.0
    width: float = 0.0
    height: float = 0.0
    leader: bool = False
    number: int | None = None


def bubble_radius(volume: float, largest: float) -> float:
    """A bubble's radius in pixels: area by volume, the largest ``BUBBLE_MAX_RADIUS``."""
    if largest <= 0:
        return BUBBLE_MIN_RADIUS
    return max(BUBBLE_MAX_RADIUS * (max(volume, 0.0) / largest) ** 0.5, BUBBLE_MIN_RADIUS)


def label_size(text: str, font: int = LABEL_FONT) -> tuple[float, float]:
    """A label's box in pixels, on the safe side (0.62 em a character, wider capitals)."""
    wide = sum(1 for c in text if c.isupper() or c in "mwMW@%")
    return 0.62 * font * len(text) + 0.2 * font * wide + 4.0, 1.35 * font + 2.0


def short_label(text: str, chars: int = LABEL_CHARS) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _apart(a: tuple[float, ...], b: tuple[float, ...], widths: tuple[float, float]) -> bool:
    """Whether boxes ``a`` and ``b`` (fx, fy_px, dx, dy, half_w, half_h: centre at
    ``fx * W + dx``, ``fy_px + dy``) are apart at every plot width W between ``widths``.

    The vertical gap does not depend on W; the horizontal one is linear in W, so apart at
    both ends on the same side means apart everywhere between."""
    if abs((a[1] + a[3]) - (b[1] + b[3])) >= a[5] + b[5]:
        return True
    need = a[4] + b[4]
    ends = [(a[0] - b[0]) * w + (a[2] - b[2]) for w in widths]
    return all(e >= need for e in ends) or all(e <= -need for e in ends)


def _inside(box: tuple[float, ...], widths: tuple[float, float], height: float) -> bool:
    fx, fy, dx, dy, hw, hh = box
    top_room = BUBBLE_MARGIN["t"] - 4
    if fy + dy - hh < 0 or fy + dy + hh > height + top_room:
        return False
    return all(fx * w + dx - hw >= 0 and fx * w + dx + hw <= w for w in widths)


def _around(r: float, w: float, h: float, extra: float) -> list[tuple[float, float]]:
    """Eight spots for a ``w`` x ``h`` box around a bubble of radius ``r``: above, beside,
    below, then the diagonals (box centres, pixels from the bubble's centre, up positive)."""
    ox, oy = r + extra + w / 2, r + extra + h / 2
    dia = (r + extra) * 0.72  # the box's near corner just outside the circle
    return [
        (0.0, oy), (ox, 0.0), (-ox, 0.0), (0.0, -oy),
        (dia + w / 2, dia + h / 2), (-dia - w / 2, dia + h / 2),
        (dia + w / 2, -dia - h / 2), (-dia - w / 2, -dia - h / 2),
    ]  # fmt: skip


def place_bubble_labels(
    fx: list[float],
    fy: list[float],
    radii: list[float],
    labels: list[str],
    *,
    height: float,
    widths: tuple[float, float],
) -> list[LabelSpot]:
    """Labels that overlap neither one another nor any bubble, at every plot width in
    ``widths`` (a responsive chart): greedy, the largest bubble first, each trying eight
    spots around its bubble, then eight further out joined by a leader line. A label with
    no free spot becomes a number (listed under the chart), placed the same way but free to
    sit on bubbles: in its own bubble if free, else around it.

    ``fx`` is each bubble's centre as a fraction of the plot's width, ``fy`` in pixels from
    the plot's bottom (the height is fixed), ``radii`` in pixels. One spot per bubble, in
    their order."""
    n = len(fx)
    bubbles = [(fx[i], fy[i], 0.0, 0.0, radii[i], radii[i]) for i in range(n)]
    placed: list[tuple[float, ...]] = []
    spots: list[LabelSpot | None] = [None] * n
    order = sorted(range(n), key=lambda k: (-radii[k], k))
    unplaced = []
    for i in order:
        text = short_label(labels[i])
        w, h = label_size(text)
        chosen = None
        for leader, extra in ((False, _GAP), (True, _LEADER)):
            for dx, dy in _around(radii[i], w, h, extra):
                box = (fx[i], fy[i], dx, dy, w / 2, h / 2)
                if not _inside(box, widths, height):
                    continue
                if all(_apart(box, p, widths) for p in placed) and all(
                    _apart(box, b, widths) for j, b in enumerate(bubbles) if j != i
                ):
                    chosen = (dx, dy, leader, box)
                    break
            if chosen:
                break
        if chosen is None:
            unplaced.append(i)
            continue
        dx, dy, leader, box = chosen
        placed.append(box)
        spots[i] = LabelSpot(text, dx, dy, w, h, leader)
    for number, i in enumerate(unplaced, start=1):
        w, h = label_size(str(number), font=LABEL_FONT - 1)
        tries = [(False, (0.0, 0.0))]
        tries += [(False, d) for d in _around(radii[i], w, h, _GAP)]
        tries += [(True, d) for d in _around(radii[i], w, h, _LEADER)]
        spot = LabelSpot(labels[i], 0.0, 0.0, w, h, False, number)
        for leader, (dx, dy) in tries:
            box = (fx[i], fy[i], dx, dy, w / 2, h / 2)
            if _inside(box, widths, height) and all(_apart(box, p, widths) for p in placed):
                spot = LabelSpot(labels[i], dx, dy, w, h, leader, number)
                break
        placed.append((fx[i], fy[i], spot.dx, spot.dy, w / 2, h / 2))
        spots[i] = spot
    return [s for s in spots if s is not None]
