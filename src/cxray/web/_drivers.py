"""The Drivers page: what moves an outcome, and which touchpoint experiences cost the most.

A priority matrix (importance, the driver's share of R² with its bootstrap
interval, against performance, how well the company does on it), a table of
every driver with its effect, a driver's detail with links to the rows behind
it, and the moments of truth (``docs/drivers.md``). Its numbers are those of
``GET /api/drivers`` and ``GET /api/drivers/moments``: the page asks the
server's kept results under the same names and options, so whichever of the
two computes an analysis first, the other answers from memory until the data
changes.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from cxray.drivers import OUTCOMES
from cxray.exceptions import CXError, QueryError
from cxray.features import slug
from cxray.web._charts import INK, _html
from cxray.web._context import ServerState, View
from cxray.workspace import Workspace

__all__ = [
    "KPI_OUTCOMES",
    "add_drivers_routes",
    "drivers_link",
    "moments_chart",
    "priority_matrix",
]

log = logging.getLogger("cxray.web")

#: bootstrap replicates and seed of the page's analyses (those of ``/api/drivers`` by default)
BOOTSTRAP = 200
SEED = 0
#: the outcomes moments of truth measure
MOMENT_OUTCOMES = ("csat", "nps", "ces", "churn")
#: the KPIs of the overview whose drivers the page explains, and the outcome it explains
KPI_OUTCOMES = {
    "nps": "nps",
    "csat": "csat",
    "ces_mean": "ces",
    "ces_easy": "ces",
    "churn_rate": "churn",
}
#: the outcome that ranks the moments of truth when the page explains an outcome
_RANK_BY = {
    "nps": "nps",
    "promoter": "nps",
    "detractor": "nps",
    "csat": "csat",
    "top_box": "csat",
    "ces": "ces",
    "churn": "churn",
}
#: the answer a response needs to count towards a built-in outcome (``has=`` of its rows)
_ANSWER = {
    "nps": "nps",
    "promoter": "nps",
    "detractor": "nps",
    "csat": "csat",
    "top_box": "csat",
    "ces": "ces",
}
_LABELS = {
    "nps": "NPS answer (0–10)",
    "csat": "CSAT answer",
    "ces": "CES answer",
    "promoter": "Promoter (NPS 9–10)",
    "detractor": "Detractor (NPS 0–6)",
    "top_box": "CSAT in the top box",
    "churn": "Churn",
}
_ANSWER_TEXT = {"nps": "an NPS answer", "csat": "a CSAT answer", "ces": "a CES answer"}
#: the matrix's quadrants: where each priority lies, and its colour
QUADRANTS = {
    "fix first": ("top left", "#cf222e"),
    "maintain": ("top right", "#1a7f37"),
    "monitor": ("bottom left", "#9a6700"),
    "lower priority": ("bottom right", "#57606a"),
}
_PLOT_WIDTH_PX = 760.0
_PLOT_HEIGHT_PX = 400.0


def drivers_link(metric: str, view: View) -> str | None:
    """The Drivers page of a KPI of the overview (None for a KPI it does not explain),
    over the view's dates (churn is explained as of a date, so without them)."""
    outcome = KPI_OUTCOMES.get(metric)
    if outcome is None:
        return None
    if outcome == "churn":
        return View().url("/drivers", outcome=outcome)
    return View(start=view.start, end=view.end).url("/drivers", outcome=outcome)


# ------------------------------------------------------------------ how numbers read


def sig(value: float | None, signed: bool = False, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits in plain notation (``-0.00000895``)."""
    if value is None or not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    places = min(10, max(0, digits - 1 - math.floor(math.log10(abs(value)))))
    return f"{value:{'+' if signed else ''},.{places}f}"


def interval(low: float | None, high: float | None, signed: bool = False) -> str:
    if low is None or high is None:
        return ""
    return f"[{sig(low, signed)}, {sig(high, signed)}]"


def q_text(q: float | None) -> str:
    if q is None or not math.isfinite(q):
        return "—"
    return "<0.001" if q < 0.001 else f"{q:.3f}"


def groups(reason: str | None) -> str:
    """A moment's suppression reason in its own words: the two-sample test names the
    exposed customers *group a* and the comparison *group b*."""
    text = reason or ""
    return text.replace("group a", "with the experience").replace("group b", "without it")


def sentence(text: str) -> str:
    """``text`` with its first letter in upper case (the rest as it is)."""
    return text[:1].upper() + text[1:]


def split_unit(unit: str) -> tuple[str, str]:
    """An effect's unit as what it is measured in and per what: ``("NPS answer (0-10)",
    "per day")``."""
    head, sep, tail = unit.partition(" per ")
    return (head, f"per {tail}") if sep else (unit, "")


# ------------------------------------------------------------------ charts


def _label_offsets(
    points: list[tuple[float, float, str]],
    xr: tuple[float, float],
    yr: tuple[float, float],
    bars: list[tuple[float, float]] | None = None,
) -> list[tuple[float, float, int]]:
    """Where each point's label goes, in pixels from its marker (right, up), and how far
    out (0: right beside it, no line needed to tell whose it is): the first
    of a ring of places, near ones first, where it overlaps no label, marker or edge
    placed before it (points come most important first), else the least overlapping.

    The plot's size in pixels is estimated (the chart is responsive), which is enough
    to keep labels apart in a cluster of drivers with similar scores."""
    sx = _PLOT_WIDTH_PX / ((xr[1] - xr[0]) or 1.0)
    sy = _PLOT_HEIGHT_PX / ((yr[1] - yr[0]) or 1.0)
    marks = [((x - xr[0]) * sx, (y - yr[0]) * sy) for x, y, _ in points]
    # each marker's interval bar: crossing one costs less than covering a marker
    lines = [
        (mx - 3, (low - yr[0]) * sy, mx + 3, (high - yr[0]) * sy)
        for (mx, _), (low, high) in zip(marks, bars or [], strict=False)
    ]
    # beside the marker first: above or below it, a label would cover its interval bar
    directions = [(1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1), (0, 1), (0, -1)]
    width, height = _PLOT_WIDTH_PX, _PLOT_HEIGHT_PX
    placed: list[tuple[float, ...]] = [  # the quadrants' names in the corners
        (0.0, height - 24, 130, height),
        (width - 130, height - 24, width, height),
        (0.0, 0.0, 130, 24),
        (width - 150, 0.0, width, 24),
    ]
    out: list[tuple[float, float, int]] = []
    for i, (px, py) in enumerate(marks):
        w, h = 6.6 * len(points[i][2]) + 8, 16.0
        best: tuple[float, float, tuple[float, float, int], tuple[float, ...]] | None = None
        for ring in (0, 18, 38, 60, 84):
            for dx, dy in directions:
                ox = dx * (w / 2 + 8 + ring)
                oy = dy * (h / 2 + 8 + ring)
                cx, cy = px + ox, py + oy
                box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                clash = sum(_overlap(box, b) for b in placed)
                clash += sum(
                    _overlap(box, (mx - 8, my - 8, mx + 8, my + 8))
                    for j, (mx, my) in enumerate(marks)
                    if j != i
                )
                clash += 0.1 * sum(_overlap(box, b) for b in lines)
                inside = (0.0, 0.0, width, height)
                clash += 3 * (w * h - _overlap(box, inside))  # past an edge: clipped
                cost = clash + 0.4 * ring  # nearer is better, other things equal
                if best is None or cost < best[0]:
                    best = (cost, clash, (ox, oy, ring), box)
            if best is not None and best[1] == 0:
                break
        assert best is not None
        placed.append(best[3])
        out.append(best[2])
    return out


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def priority_matrix(analysis: dict[str, Any], selected: str | None, link: Callable[[str], str]):
    """Importance (share of R², with its bootstrap interval) against performance, one
    marker per driver that has a performance, in the four quadrants of the priorities;
    a click opens the driver. None when no driver has a performance."""
    drivers = analysis["drivers"]
    shown = [d for d in drivers if d["performance"] is not None]
    if not shown:
        return None
    k = len(drivers)
    perf = sorted(d["performance"] for d in shown)
    mid = len(perf) // 2
    cut = perf[mid] if len(perf) % 2 else (perf[mid - 1] + perf[mid]) / 2
    line = 100.0 / k
    lo, hi = min(perf), max(perf)
    pad = max(4.0, 0.18 * (hi - lo))
    xr = (max(0.0, lo - pad), min(101.0, hi + pad))
    top = max(max(d["ci_high"] for d in shown), line)
    least = min(min(d["share"] for d in shown), line)
    # shares often span two orders of magnitude: a log axis keeps the small ones apart
    log = least > 0 and top / least > 8
    if log:
        lows = [d["ci_low"] for d in shown if d["ci_low"] and d["ci_low"] > 0]
        floor = max(min([*lows, least]), least / 4)
        yr = (math.log10(floor) - 0.08, math.log10(top) + 0.12)
    else:
        yr = (0.0, top * 1.12)

    def at(v: float) -> float:  # where a share lies on the axis
        return math.log10(max(v, 10 ** yr[0])) if log else v

    labels = [(d["performance"], at(d["share"]), d["title"]) for d in shown]
    bars = [(at(d["ci_low"]), at(d["ci_high"])) for d in shown]
    offsets = _label_offsets(labels, xr, yr, bars)
    fig = go.Figure()
    for priority, (_, colour) in QUADRANTS.items():
        idx = [i for i, d in enumerate(shown) if d["priority"] == priority]
        if not idx:
            continue
        ds = [shown[i] for i in idx]
        fig.add_trace(
            go.Scatter(
                x=[d["performance"] for d in ds],
                y=[d["share"] for d in ds],
                mode="markers",
                name=priority,
                text=[d["title"] for d in ds],
                marker={"size": 12, "color": colour, "line": {"width": 1, "color": INK}},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [d["ci_high"] - d["share"] for d in ds],
                    "arrayminus": [d["share"] - d["ci_low"] for d in ds],
                    "color": colour,
                    "thickness": 1.5,
                    "width": 4,
                },
                customdata=[
                    [link(d["driver"]), sig(d["ci_low"]), sig(d["ci_high"]), d["priority"]]
                    for d in ds
                ],
                showlegend=False,  # the quadrant labels name the colours
                hovertemplate="<b>%{text}</b><br>importance %{y:.1f}% of R² "
                "[%{customdata[1]}, %{customdata[2]}]<br>performance %{x:.0f}<br>"
                "%{customdata[3]}<extra></extra>",
            )
        )
    for (x, y, title), (ox, oy, ring) in zip(labels, offsets, strict=True):
        fig.add_annotation(
            x=x, y=y, text=title, ax=ox, ay=-oy, showarrow=True, arrowhead=0, arrowwidth=1,
            standoff=7, arrowcolor="#8c959f" if ring else "rgba(0,0,0,0)",
            font={"size": 12, "color": INK}, bgcolor="rgba(255,255,255,0.7)",
        )  # fmt: skip
    chosen = [d for d in shown if d["driver"] == selected]
    if chosen:
        d = chosen[0]
        fig.add_trace(
            go.Scatter(
                x=[d["performance"]],
                y=[d["share"]],
                mode="markers",
                name="selected",
                showlegend=False,
                marker={"size": 24, "symbol": "circle-open", "color": INK, "line": {"width": 2}},
                hoverinfo="skip",
            )
        )
    dash = {"color": "#8c959f", "width": 1.5, "dash": "dash"}
    fig.add_shape(type="line", xref="x", yref="y domain", x0=cut, x1=cut, y0=0, y1=1, line=dash)
    fig.add_shape(type="line", xref="x domain", yref="y", x0=0, x1=1, y0=line, y1=line, line=dash)
    corners = {
        "top left": (0.01, 0.99, "left", "top"),
        "top right": (0.99, 0.99, "right", "top"),
        "bottom left": (0.01, 0.01, "left", "bottom"),
        "bottom right": (0.99, 0.01, "right", "bottom"),
    }
    for priority, (corner, colour) in QUADRANTS.items():
        x, y, xa, ya = corners[corner]
        fig.add_annotation(
            xref="x domain", yref="y domain", x=x, y=y, xanchor=xa, yanchor=ya,
            text=f"<b>{priority.upper()}</b>", showarrow=False,
            font={"size": 12, "color": colour}, opacity=0.85,
        )  # fmt: skip
    fig.update_xaxes(title="performance: how well you do on it (0–100)", range=list(xr))
    fig.update_yaxes(
        title="importance: share of R² (%" + (", log scale)" if log else ")"),
        type="log" if log else "linear",
        range=list(yr),
    )
    if log:
        ticks = [
            v
            for v in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
            if yr[0] <= math.log10(v) <= yr[1]
        ]
        fig.update_yaxes(tickvals=ticks, ticktext=[f"{v:g}" for v in ticks])
    fig.update_layout(height=440)
    # a click on a driver opens its rows: the dashboard's chart script (static/cxray-charts.js)
    return _html(fig, "matrix-chart")


def moments_chart(moments: list[dict[str, Any]], unit: str, fdr: float) -> Markup | None:
    """A forest plot: each moment's effect on the ranking outcome with its interval,
    most costly at the top; significant ones (after Benjamini–Hochberg) in orange."""
    shown = [m for m in moments if not m["suppressed"] and m["effect"] is not None][::-1]
    if not shown:
        return None
    fig = go.Figure()
    for significant, name, colour in (
        (True, f"significant (BH, q ≤ {fdr:g})", "#bc4c00"),
        (False, "not significant", "#57606a"),
    ):
        ms = [m for m in shown if bool(m["significant"]) is significant]
        if not ms:
            continue
        fig.add_trace(
            go.Scatter(
                x=[m["effect"] for m in ms],
                y=[m["title"] for m in ms],
                mode="markers",
                name=name,
                marker={
                    "size": 11,
                    "color": colour,
                    "symbol": "diamond" if significant else "circle",
                },
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [m["ci_high"] - m["effect"] for m in ms],
                    "arrayminus": [m["effect"] - m["ci_low"] for m in ms],
                    "color": colour,
                    "thickness": 2,
                    "width": 5,
                },
                customdata=[
                    [
                        sig(m["ci_low"], True),
                        sig(m["ci_high"], True),
                        q_text(m["q_value"]),
                        f"{m['customers']:,}",
                    ]
                    for m in ms
                ],
                showlegend=False,  # the caption says what the colours mean
                hovertemplate="<b>%{y}</b><br>effect %{x:+.3g} [%{customdata[0]}, "
                "%{customdata[1]}]<br>q=%{customdata[2]}, %{customdata[3]} customers"
                "<extra></extra>",
            )
        )
    fig.add_vline(x=0, line={"color": INK, "width": 1})
    fig.update_yaxes(
        type="category", automargin=True, categoryorder="array",
        categoryarray=[m["title"] for m in shown], showgrid=False,
    )  # fmt: skip
    fig.update_xaxes(title=f"effect: with minus without ({unit})", zeroline=False)
    fig.update_layout(height=max(240, 90 + 34 * len(shown)))
    return _html(fig, "moments-chart")


# ------------------------------------------------------------------ the rows behind a figure


@dataclass(frozen=True)
class RowLinks:
    """Links to the dashboard's rows page (and the Text page for a theme) for what an
    analysis reads: the responses or customers analysed, and a driver's touchpoint rows
    in the window before them."""

    start: str | None
    end: str | None
    window_days: float
    #: the as-of date of customer outcomes (churn), ``YYYY-MM-DD``
    as_of: str | None
    #: a journey's slug -> its start touchpoint
    journeys: dict[str, str]
    #: a theme's slug -> its id
    themes: dict[str, str]

    def _dates(self, unit: str, before: float) -> list[tuple[str, str]]:
        """``from``/``to`` of the rows page (``to`` the first day not included)."""
        if unit == "customers":
            if not self.as_of or not before:
                return []
            last = dt.date.fromisoformat(self.as_of)
            first = last - dt.timedelta(days=math.ceil(before))
            return [("from", first.isoformat()), ("to", (last + dt.timedelta(days=1)).isoformat())]
        out = []
        if self.start:
            first = dt.date.fromisoformat(self.start) - dt.timedelta(days=math.ceil(before))
            out.append(("from", first.isoformat()))
        if self.end:
            out.append(("to", (dt.date.fromisoformat(self.end) + dt.timedelta(1)).isoformat()))
        return out

    def analysed(self, outcome: str, unit: str) -> dict[str, str]:
        """The rows the analysis explains: responses with the answer, or customers."""
        if unit == "customers":
            params = [] if outcome == "churn" else [("has", outcome)]
            what = "every customer" + ("" if outcome == "churn" else f" with a {outcome}")
            return {
                "href": _rows("customers", params),
                "label": "The customers",
                "note": f"{what}; the analysis counts those active at the as-of date",
            }
        col = _ANSWER.get(outcome, outcome)
        dates = self._dates(unit, 0)
        when = "in the selected dates" if dates else "of all time"
        return {
            "href": _rows("responses", [("has", col), *dates]),
            "label": f"The responses with {_ANSWER_TEXT.get(col, f'a value of {col}')}",
            "note": f"the responses the analysis explains, {when}",
        }

    def behind(self, feature: dict[str, Any], unit: str) -> dict[str, str] | None:
        """The touchpoint rows a driver counts, in the window before the outcome: the
        rows page filters by equality, so it shows the driver's table in that window,
        narrowed where a column says it (reopened cases, a channel, a journey's start)."""
        name, table = feature["name"], feature["table"]
        if name.startswith("theme_") and name[6:] in self.themes:
            query = urlencode({"table": "responses", "theme": self.themes[name[6:]]})
            return {
                "href": f"/text?{query}#quotes",
                "label": "The comments about it",
                "note": "the Text page's quotes of the theme",
            }
        if table == "customers":
            params = [] if name in ("tenure_days", "recency_days") else [("has", name)]
            return {
                "href": _rows("customers", params),
                "label": "The customers",
                "note": "every customer: the driver is a customer attribute",
            }
        if table == "responses":
            # a rating column, the comment (its sentiment), or the NPS answers (latest_*)
            col = "comment" if name == "comment_sentiment" else "nps"
            if feature.get("unit") == "rating" and not name.startswith("latest_"):
                col = name
            dates = self._dates(unit, self.window_days if unit == "customers" else 0)
            return {
                "href": _rows("responses", [("has", col), *dates]),
                "label": f"The responses with {_ANSWER_TEXT.get(col, f'a value of {col}')}",
                "note": "the responses the driver reads, " + self._when(unit, dates),
            }
        params: list[tuple[str, str]] = []
        if table == "orders":
            what, hint = "orders", ""
            if name in ("late_deliveries", "days_late", "deliveries"):
                params.append(("has", "promised_at"))
                what, hint = (
                    "orders with a delivery promise",
                    "; compare delivered_at and promised_at",
                )
        elif table == "cases":
            what, hint = "cases", ""
            if name == "cases_reopened":
                params.append(("filter", "reopened:true"))
                what = "reopened cases"
            elif name == "cases_unresolved":
                params.append(("filter", "resolved_at:"))
                what = "cases without a resolution today"
                hint = "; the driver counts those still open at each response"
            elif name.startswith("cases_via_"):
                channel = feature.get("title", "").removeprefix("Cases via ")
                params.append(("filter", f"channel:{channel}"))
                what = f"cases through {channel}"
            elif name == "cases_slow_response":
                params.append(("sort", "-first_response_at"))
                hint = "; the driver counts those with a slow first response"
            elif name in ("cases_not_fcr", "cases_fcr", "contacts"):
                params.append(("sort", "-contacts"))
                hint = ", most contacts first"
        elif table == "events":
            what, hint = "events", ""
            for key, touchpoint in self.journeys.items():
                if name in (f"journey_started_{key}", f"journey_abandoned_{key}"):
                    params.append(("filter", f"touchpoint:{touchpoint}"))
                    what = f"{touchpoint} events"
                    break
        else:
            return None
        dates = self._dates(unit, self.window_days)
        return {
            "href": _rows(table, [*params, *dates]),
            "label": f"The {table}",
            "note": f"{what} {self._when(unit, dates, self.window_days)}{hint}",
        }

    def _when(self, unit: str, dates: list[tuple[str, str]], before: float = 0) -> str:
        if not dates:
            return "of all time"
        first, after = dict(dates).get("from"), dict(dates).get("to")
        last = (dt.date.fromisoformat(after) - dt.timedelta(1)).isoformat() if after else None
        span = f"from {first or 'the start'} to {last or 'today'}"
        if not before:
            return span
        anchor = "the as-of date" if unit == "customers" else "the first response"
        return f"{span} (the {before:g} days before {anchor} included)"


def _rows(table: str, params: list[tuple[str, str]]) -> str:
    return f"/rows/{table}" + (f"?{urlencode(params)}" if params else "")


# ------------------------------------------------------------------ the page


def _outcome_choices(ws: Workspace) -> list[tuple[str, str]]:
    """Every outcome the page offers: the built-in ones, then numeric columns."""
    f = ws.features
    out = [(o, _LABELS.get(o, o)) for o in OUTCOMES]
    out += [(c, f"{c} (response)") for c in f.ratings if c not in dict(out)]
    out += [(c, f"{c} (customer)") for c in f.customer_attributes if c not in dict(out)]
    return out


def _links_of(ws: Workspace, start: str | None, end: str | None, unit: str) -> RowLinks:
    as_of = None
    if unit == "customers":
        try:
            as_of = ws.features.as_of(None).date().isoformat()
        except CXError:  # no customer data: the links go without dates
            as_of = None
    config = ws.config
    return RowLinks(
        start=start,
        end=end,
        window_days=config.features.window_days,
        as_of=as_of,
        journeys={slug(k): j.start for k, j in config.journeys.items()},
        themes={slug(k): k for k in config.themes},
    )


def add_drivers_routes(
    router: APIRouter,
    state: ServerState,
    *,
    who: Callable[[Request], Any],
    render: Callable[..., HTMLResponse],
    failed: Callable[..., Response],
) -> None:
    """Add ``GET /drivers`` to the dashboard's router (its login, rendering and errors)."""

    def analysis(outcome: str, opts: dict[str, Any]) -> dict[str, Any]:
        # the key and value of ``GET /api/drivers`` for the same options: shared with it
        return state.cached(
            ("drivers", outcome, (), tuple(sorted(opts.items()))),
            lambda ws: ws.drivers(outcome, (), **opts).to_dict(),
        )

    @router.get("/drivers", response_class=HTMLResponse)
    def drivers_page(request: Request, outcome: str = "nps", driver: str | None = None) -> Response:
        user = who(request)
        with state.reading():  # one snapshot for the whole page
            try:
                view = View.from_query(request.query_params)
                choices = state.cached(("driver-outcomes",), _outcome_choices)
                if outcome not in dict(choices):
                    raise QueryError(
                        f"outcome={outcome!r}: use one of {', '.join(o for o, _ in choices)}"
                    )
            except CXError as exc:
                return failed(request, user, exc, View(start=None))
            page_view = View(None, view.start, view.end, view.filters)
            start, end = view.start, view.end
            opts: dict[str, Any] = {
                "by": None, "start": start, "end": end, "window_days": None, "as_of": None,
                "bootstrap": BOOTSTRAP, "seed": SEED,
            }  # fmt: skip
            report, report_error = None, None
            try:
                report = analysis(outcome, opts)
            except Exception as exc:  # the page stays up; the section says what failed
                report_error = _why(exc, "the key drivers", request)
            a = report["analyses"][0] if report and report["analyses"] else None
            unit = a["unit"] if a else ("customers" if outcome == "churn" else "responses")
            rank_by = _RANK_BY.get(outcome, "csat")
            order = (rank_by, *(o for o in MOMENT_OUTCOMES if o != rank_by))
            m_opts = {"start": start, "end": end, "window_days": None, "as_of": None}
            moments, moments_error = None, None
            try:
                moments = state.cached(
                    ("moments", order, tuple(sorted(m_opts.items()))),
                    lambda ws: ws.drivers.moments(order, **m_opts).to_dict(),
                )
            except Exception as exc:
                moments_error = _why(exc, "the moments of truth", request)
            try:
                features = state.cached(
                    ("driver-features", unit),
                    lambda ws: [f.to_dict() for f in ws.drivers.features(unit)],
                )
                defs = state.cached(
                    ("driver-moment-defs",), lambda ws: [m.to_dict() for m in ws.features.moments()]
                )
                links = state.cached(
                    ("driver-links", start, end, unit), lambda ws: _links_of(ws, start, end, unit)
                )
            except CXError as exc:
                return failed(request, user, exc, page_view)

            def link(name: str | None = None, out: str | None = None) -> str:
                extra: dict[str, Any] = {"outcome": out or outcome}
                if name:
                    extra["driver"] = name
                url = View(start=start, end=end).url("/drivers", **extra)
                return url + ("#detail" if name else "")

            by_name = {f["name"]: f for f in features}
            matrix = detail = None
            rows: list[dict[str, Any]] = []
            if a:
                matrix = state.cached(
                    ("drivers_chart", outcome, start, end, driver),
                    lambda ws: priority_matrix(a, driver, lambda n: link(n)),
                )
                for d in a["drivers"]:
                    head, per = split_unit(d["effect_unit"])
                    rows.append({"d": d, "link": link(d["driver"]), "per": per, "head": head})
                chosen = [r for r in rows if r["d"]["driver"] == driver]
                if chosen:
                    d = chosen[0]["d"]
                    feature = by_name.get(d["driver"], {"name": d["driver"], "table": ""})
                    detail = {
                        **chosen[0],
                        "feature": feature,
                        "analysed": links.analysed(outcome, unit),
                        "behind": links.behind(feature, unit) if feature.get("table") else None,
                    }
            missing_driver = driver if driver and a and detail is None else None
            effect_head = rows[0]["head"] if rows else ""
            m_rows: list[dict[str, Any]] = []
            others: list[dict[str, Any]] = []
            chart_m = None
            if moments:
                exposed = {m["moment"]: m["exposed"] for m in defs}
                ranked = [m for m in moments["moments"] if m["outcome"] == moments["rank_by"]]
                for m in ranked:
                    f = by_name.get(exposed.get(m["moment"], ""))
                    if f is None:  # the moment's feature as the other unit names it
                        f = {"name": exposed.get(m["moment"], ""), "table": _table_of(m, defs)}
                    level = "customers" if m["outcome"] == "churn" else "responses"
                    m_rows.append({"m": m, "rows": links.behind(f, level)})
                rest = [o for o in moments["outcomes"] if o != moments["rank_by"]]
                cells: dict[str, dict[str, Any]] = {}
                for m in moments["moments"]:
                    if m["outcome"] in rest:
                        cells.setdefault(m["moment"], {})[m["outcome"]] = m
                titles = {m["moment"]: m["title"] for m in moments["moments"]}
                for name in dict.fromkeys(m["moment"] for m in moments["moments"]):
                    by = cells.get(name, {})
                    others.append({"moment": name, "title": titles[name], "by": by})
                units = {m["outcome"]: m for m in moments["moments"]}
                rank_unit = units[moments["rank_by"]]["effect_unit"] if ranked else ""
                chart_m = state.cached(
                    ("moments_chart", order, start, end),
                    lambda ws: moments_chart(ranked, rank_unit, moments["fdr"]),
                )
                moments = {**moments, "others": rest, "units": units}
        return render(
            request, "drivers.html", user=user, view=page_view, outcome=outcome,
            title=a["outcome_title"] if a else dict(choices)[outcome],
            choices=choices, report_error=report_error, a=a, rows=rows, matrix=matrix,
            chart=matrix or chart_m,  # the page loads Plotly when it has a chart
            chart_m=chart_m, detail=detail, missing_driver=missing_driver,
            effect_head=effect_head, moments=moments, moments_error=moments_error,
            m_rows=m_rows, others=others, link=link, sig=sig, interval=interval, sentence=sentence,
            groups=groups,
            q_text=q_text, quadrants=QUADRANTS,
            context=[r for r in rows if r["d"]["performance"] is None],
            lmg=any(r["d"]["lmg_share"] is not None for r in rows),
            analysed=links.analysed(outcome, unit) if a else None,
        )  # fmt: skip


def _why(exc: Exception, what: str, request: Request) -> str:
    """What a section of the page says when its analysis fails: an analysis that cannot
    be answered says why; anything else is an internal error, logged in full."""
    if isinstance(exc, CXError):
        return str(exc)
    log.exception("%s failed on %s", what, request.url)
    return (
        f"cxray could not compute {what} ({type(exc).__name__}: {exc}); this is an error "
        "in cxray, and the server's log has the details"
    )


def _table_of(moment: dict[str, Any], defs: list[dict[str, str]]) -> str:
    """The table a moment's touchpoint is in (for a feature the other unit's catalogue
    names differently)."""
    for m in defs:
        if m["moment"] == moment["moment"]:
            exposed = m["exposed"]
            if exposed.startswith("cases"):
                return "cases"
            if exposed.startswith("journey_"):
                return "events"
            if exposed in ("late_deliveries", "days_late", "deliveries"):
                return "orders"
    return ""
