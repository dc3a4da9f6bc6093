"""The Journeys page: a funnel with drop-off and intervals, paths as a Sankey, time between
steps, where cases leave, the directly-follows edges, and outcomes by touchpoint.

Its numbers come from ``Workspace.journeys`` through the server's cache, under the same
keys as ``/api/journeys`` uses, so the page and the API agree (and share the work).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from zlib import crc32

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from cxray.exceptions import CXError, JourneyError
from cxray.web._charts import BAND, BLUE, INK, _html
from cxray.web._context import ServerState, View

__all__ = [
    "JourneyView",
    "add_journey_routes",
    "conversion_chart",
    "funnel_chart",
    "journey_link",
    "paths_sankey",
    "times_chart",
]

#: slices drawn in the funnel's charts (the table shows them all)
MAX_SLICES = 8
SANKEY_VARIANTS = 25
SANKEY_STEPS = 6
_COLOURS = ["#0a58ca", "#bc4c00", "#1a7f37", "#8250df", "#cf222e", "#9a6700", "#0550ae", "#6e7781"]


@dataclass(frozen=True)
class JourneyView:
    """The page's request, read from and written to its URL."""

    steps: tuple[str, ...]
    within: float | None = None
    case: str = "customer"
    by: str | None = None
    start: str | None = None
    end: str | None = None
    journey: str | None = None
    include: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, q: Any, default: dict[str, Any] | None) -> JourneyView:
        raw = q.get("steps")
        within_raw = q.get("within")
        if raw is None and default is not None:
            steps = tuple(default["steps"])
            within = default.get("within_hours") if within_raw is None else None
        else:
            steps = tuple(s.strip() for s in (raw or "").split(","))
            within = None
        if within_raw not in (None, ""):
            try:
                within = float(within_raw)
            except ValueError:
                raise JourneyError(f"within={within_raw!r} is not a number of hours") from None
        include = tuple(p.strip() for v in q.getlist("include") for p in v.split(",") if p.strip())
        return cls(
            steps=steps,
            within=within,
            case=(q.get("case") or "customer").strip(),
            by=(q.get("by") or "").strip() or None,
            start=q.get("from") or None,
            end=q.get("to") or None,
            journey=(q.get("journey") or "").strip() or None,
            include=include,
        )

    @property
    def scope(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "start": self.start,
            "end": self.end,
            "journey": self.journey,
            "include": self.include,
        }

    def params(self, **change: Any) -> list[tuple[str, str]]:
        values = {
            "steps": ",".join(self.steps),
            "within": None if self.within is None else f"{self.within:g}",
            "case": self.case if self.case != "customer" else None,
            "by": self.by,
            "from": self.start,
            "to": self.end,
            "journey": self.journey,
            "include": ",".join(self.include) or None,
        }
        values.update(change)
        return [(k, str(v)) for k, v in values.items() if v not in (None, "")]

    def url(self, **change: Any) -> str:
        return "/journeys?" + urlencode(self.params(**change))


def journey_link(config: Any, metric: str, view: View) -> str | None:
    """The Journeys page of a completion or abandonment tile's journey (its funnel), or None."""
    kind, _, name = metric.partition(":")
    j = config.journeys.get(name) if kind in ("completion", "abandonment") else None
    if j is None:
        return None
    jv = JourneyView((j.start, j.success), j.window_hours, start=view.start, end=view.end)
    return jv.url()


def _label(row: dict[str, Any], by: str | None) -> str:
    if by is None:
        return "all"
    value = row.get(by)
    return "(missing)" if value is None else str(value)


def _series(records: list[dict[str, Any]], by: str | None) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        out.setdefault(_label(r, by), []).append(r)
    largest = sorted(out, key=lambda k: -out[k][0]["cases"])[:MAX_SLICES]
    return {k: out[k] for k in largest}


def funnel_chart(funnel: dict[str, Any]) -> Markup | None:
    """Cases at each step (bars, one trace per slice) with the step conversion written on."""
    records = funnel["records"]
    if not records or not funnel["entered"]:
        return None
    by = funnel["by"][0] if funnel["by"] else None
    fig = go.Figure()
    for i, (name, rows) in enumerate(_series(records, by).items()):
        text = [
            "entry" if r["conversion"] is None else f"{100 * r['conversion']:.1f}% of previous"
            for r in rows
        ]
        fig.add_trace(
            go.Funnel(
                name=name,
                y=[f"{r['step_index']}. {r['step']}" for r in rows],
                x=[r["cases"] for r in rows],
                text=text,
                textposition="inside",
                textinfo="value+text",
                marker={"color": _COLOURS[i % len(_COLOURS)]},
                connector={"line": {"color": "#8c959f", "width": 1}},
                showlegend=by is not None,
                hovertemplate="%{y}: %{x:,} cases<br>%{text}<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(height=340, showlegend=by is not None)
    fig.update_yaxes(automargin=True)
    return _html(fig, "funnel-chart")


def conversion_chart(funnel: dict[str, Any]) -> Markup | None:
    """Each step's conversion from the previous step with its interval, per slice."""
    records = [r for r in funnel["records"] if r["conversion"] is not None]
    if not records:
        return None
    by = funnel["by"][0] if funnel["by"] else None
    fig = go.Figure()
    for i, (name, rows) in enumerate(_series(records, by).items()):
        colour = _COLOURS[i % len(_COLOURS)]
        fig.add_trace(
            go.Scatter(
                name=name,
                x=[f"{r['step_index']}. {r['step']}" for r in rows],
                y=[100 * r["conversion"] for r in rows],
                mode="markers+lines",
                line={"color": colour, "width": 1.5, "dash": "dot"},
                marker={"size": 9, "color": colour},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [100 * (r["ci_high"] - r["conversion"]) for r in rows],
                    "arrayminus": [100 * (r["conversion"] - r["ci_low"]) for r in rows],
                    "color": colour,
                    "thickness": 2,
                },
                customdata=[[r["previous"], r["dropped"]] for r in rows],
                showlegend=by is not None,
                hovertemplate="%{x}: %{y:.1f}% of %{customdata[0]:,} "
                "(%{customdata[1]:,} left)<extra>" + name + "</extra>",
            )
        )
    fig.update_yaxes(title="% of the previous step (95% interval)")
    fig.update_xaxes(type="category")
    fig.update_layout(height=340, showlegend=by is not None)
    return _html(fig, "conversion-chart")


def times_chart(funnel: dict[str, Any]) -> Markup | None:
    """Median hours from the previous step with its interval (band of bars) and the p90."""
    records = [r for r in funnel["records"] if r["median_hours"] is not None]
    if not records:
        return None
    by = funnel["by"][0] if funnel["by"] else None
    fig = go.Figure()
    for i, (name, rows) in enumerate(_series(records, by).items()):
        colour = _COLOURS[i % len(_COLOURS)]
        x = [f"{r['step_index']}. {r['step']}" for r in rows]
        lo = [r["median_ci_low"] for r in rows]
        hi = [r["median_ci_high"] for r in rows]
        fig.add_trace(
            go.Bar(
                name=f"{name}: median" if by else "median",
                x=x,
                y=[r["median_hours"] for r in rows],
                marker={"color": colour if by else BLUE},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        None if h is None else h - r["median_hours"]
                        for h, r in zip(hi, rows, strict=True)
                    ],
                    "arrayminus": [
                        None if v is None else r["median_hours"] - v
                        for v, r in zip(lo, rows, strict=True)
                    ],
                    "color": INK,
                },
                hovertemplate="%{x}: median %{y:.3g} h<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                name=f"{name}: 90th percentile" if by else "90th percentile",
                x=x,
                y=[r["p90_hours"] for r in rows],
                mode="markers",
                marker={"symbol": "line-ew-open", "size": 22, "color": colour if by else INK,
                        "line": {"width": 2}},
                hovertemplate="%{x}: p90 %{y:.3g} h<extra></extra>",
            )
        )  # fmt: skip
    fig.update_yaxes(title="hours from the previous step", rangemode="tozero")
    fig.update_xaxes(type="category")
    fig.update_layout(height=340, barmode="group")
    return _html(fig, "times-chart")


def paths_sankey(paths: dict[str, Any]) -> Markup | None:
    """The top variants as flows between positions; cases that stop there flow to "leave"."""
    variants = paths["variants"][:SANKEY_VARIANTS]
    if not variants:
        return None
    nodes: dict[tuple[int, str], int] = {}
    links: dict[tuple[int, int], int] = {}

    def node(pos: int, name: str) -> int:
        return nodes.setdefault((pos, name), len(nodes))

    for v in variants:
        steps = v["steps"][:SANKEY_STEPS]
        cut = len(v["steps"]) > SANKEY_STEPS or v["truncated"]
        for i in range(len(steps) - 1):
            key = (node(i, steps[i]), node(i + 1, steps[i + 1]))
            links[key] = links.get(key, 0) + v["cases"]
        last = len(steps) - 1
        end = node(last + 1, "… continues" if cut else "leave")
        key = (node(last, steps[last]), end)
        links[key] = links.get(key, 0) + v["cases"]
    labels = [name for (_, name) in nodes]
    colours = [
        "#d0d7de" if name in ("leave", "… continues") else _COLOURS[crc32(name.encode()) % 8]
        for name in labels
    ]
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": labels,
                "pad": 14,
                "thickness": 14,
                "color": colours,
                "line": {"color": INK, "width": 0.5},
            },
            link={
                "source": [a for a, _ in links],
                "target": [b for _, b in links],
                "value": list(links.values()),
                "color": BAND,
            },
            valueformat=",d",
            valuesuffix=" cases",
        )
    )
    fig.update_layout(height=460)
    return _html(fig, "paths-sankey")


def add_journey_routes(
    router: APIRouter,
    state: ServerState,
    *,
    who: Callable[[Request], Any],
    render: Callable[..., HTMLResponse],
    failed: Callable[..., Response],
) -> None:
    """Add ``GET /journeys`` to the dashboard's router (its login, rendering and errors)."""

    @router.get("/journeys", response_class=HTMLResponse)
    def journeys_page(request: Request) -> Response:
        user = who(request)
        with state.reading():  # one snapshot for the whole page
            try:
                configured = state.cached(
                    ("journeys.configured",), lambda ws: ws.journeys.configured()
                )
                q = request.query_params
                jv = JourneyView.from_query(q, None)
                scope = jv.scope
                touchpoints = state.cached(
                    ("journeys.touchpoints", *scope.values()),
                    lambda ws: ws.journeys.touchpoints(**scope),
                )
                if q.get("steps") is None:  # a journey the data has: configured, or common
                    jv = JourneyView.from_query(q, _default(state, configured, touchpoints, scope))
                by = (jv.by,) if jv.by else ()
                funnel = state.cached(
                    ("journeys.funnel", jv.steps, jv.within, by, *scope.values()),
                    lambda ws: ws.journeys.funnel(
                        jv.steps, within_hours=jv.within, by=by, **scope
                    ).to_dict(),
                )
                paths = state.cached(
                    ("journeys.paths", *scope.values(), SANKEY_STEPS, SANKEY_VARIANTS, True),
                    lambda ws: ws.journeys.paths(
                        **scope, max_steps=SANKEY_STEPS, top=SANKEY_VARIANTS, collapse=True
                    ).to_dict(),
                )
                graph = state.cached(
                    ("journeys.graph", *scope.values()),
                    lambda ws: ws.journeys.graph(**scope).to_dict(),
                )
                outcomes = state.cached(
                    ("journeys.outcomes", "touchpoint", *scope.values(), 20, 12, False),
                    lambda ws: ws.journeys.outcomes(
                        group="touchpoint", **scope, max_steps=20, top=12
                    ).to_dict(),
                )
                attributes = state.cached(("journeys.attributes",), _attributes)
            except CXError as exc:
                return failed(request, user, exc)
            charts = state.cached(
                ("journeys.charts", jv, "v1"),
                lambda ws: {
                    "funnel": funnel_chart(funnel),
                    "conversion": conversion_chart(funnel),
                    "times": times_chart(funnel),
                    "sankey": paths_sankey(paths),
                },
            )
        links = {
            name: jv.url(steps=",".join(j["steps"]), within=f"{j['within_hours']:g}")
            for name, j in configured.items()
        }
        return render(
            request, "journeys.html", user=user, view=View(), jv=jv, funnel=funnel,
            paths=paths, graph=graph, outcomes=outcomes, touchpoints=touchpoints,
            configured=configured, links=links, attributes=attributes,
            chart=charts["funnel"] or charts["sankey"], charts=charts,
            edges=graph["edges"][:15], flows=paths["touchpoints"][:12],
        )  # fmt: skip


def _default(
    state: ServerState,
    configured: dict[str, Any],
    touchpoints: list[dict[str, Any]],
    scope: dict[str, Any],
) -> dict[str, Any] | None:
    """The funnel the page opens with: the first journey of ``cxray.toml`` whose steps the
    data has, else the first four touchpoints of the most common path."""
    if not touchpoints:
        where = (
            "in the window: widen it"
            if scope["start"] or scope["end"]
            else ("in the data: import events or run `cxray demo`")
        )
        raise JourneyError(f"no touchpoints {where}")
    names = {t["touchpoint"] for t in touchpoints}
    for j in configured.values():
        if set(j["steps"]) <= names:
            return j
    paths = state.cached(
        ("journeys.paths", *scope.values(), 4, 1, True),
        lambda ws: ws.journeys.paths(**scope, max_steps=4, top=1, collapse=True).to_dict(),
    )
    steps = paths["variants"][0]["steps"] if paths["variants"] else []
    if len(steps) < 2:
        steps = [t["touchpoint"] for t in touchpoints[:2]]
    return {"steps": steps, "within_hours": None} if len(steps) >= 2 else None


def _attributes(ws: Any) -> list[str]:
    """Attributes a funnel can be sliced by: text columns of events and customers."""
    skip = {"email", "name", "touchpoint", "event_id", "customer_id", "session_id"}
    out = ["nps_group"]
    for table in ("customers", "events"):
        for name, kind in ws.store.columns(table).items():
            if (
                kind.lower().startswith("string")
                and not name.startswith("_")
                and not name.endswith("_id")
                and name not in skip
                and name not in out
            ):
                out.append(name)
    return out
