"""Plotly figures as HTML fragments, and the SVG sparkline of an overview tile.

Each fragment holds its figure in a ``<script type="application/json">`` block, never an
inline script (the dashboard's Content-Security-Policy says ``script-src 'self'``); the page
loads ``plotly.min.js`` from ``/static/plotly.min.js`` (the installed plotly package, never a
CDN) and ``/static/cxray-charts.js``, which draws every block with ``Plotly.newPlot``.
"""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
from markupsafe import Markup, escape

__all__ = ["segments_chart", "sparkline", "trend_chart"]

INK = "#1f2328"
BLUE = "#0a58ca"
BAND = "rgba(10, 88, 202, 0.15)"
_CONFIG = {"displaylogo": False, "responsive": True}


def _html(fig: go.Figure, div_id: str, *, legend: dict[str, Any] | None = None) -> Markup:
    fig.update_layout(
        margin={"l": 56, "r": 16, "t": 16, "b": 48},
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
