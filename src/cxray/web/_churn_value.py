"""The *Churn & value* page (``/churn``): who leaves, why, who will leave next, and what it
is worth.

Sections, each from the library through the server's cache (kept until the data, a kept
CLV fit or a kept churn-risk model changes; survival, reasons and scores under the keys
``/api/churn`` uses, so the page and the API share the work):

* survival curves by NPS group with their 95% bands and the log-rank tests
  (``ws.churn.survival()``);
* stated churn reasons with Wilson intervals (``ws.churn.reasons()``);
* the customers most at risk (``ws.churn.risk.score()``), sortable by probability, CLV
  and revenue at risk, each linking to their timeline, with their top reasons;
* the CLV distribution (``ws.value.clv()``, when a CLV fit is kept) and revenue at risk
  by NPS group (``ws.value.money.at_risk()``);
* the what-if and the ROI summary (``ws.value.money.roi()``).

A piece that cannot be computed (no churn dates, no orders, no kept model) shows a notice
naming the command that makes it, never an error page.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cxray.exceptions import CXError, QueryError
from cxray.privacy import Masking
from cxray.store import MODELS
from cxray.web._charts import BLUE, INK, _html
from cxray.web._context import ServerState, View

__all__ = ["add_churn_value_routes", "at_risk_chart", "clv_histogram", "survival_chart"]

#: the NPS groups (``cxray.value``'s money of CX lists them in this order)
GROUPS = ("promoter", "passive", "detractor", "no answer")


def money_text(x: float | None) -> str:
    """A money amount as a CFO reads it: 1.23M, 45.6k, 830."""
    if x is None or not math.isfinite(x):
        return "—"
    a = abs(x)
    for at_least, size, suffix, digits in ((1e9, 1e9, "B", 2), (1e6, 1e6, "M", 2),
                                           (1e4, 1e3, "k", 1)):  # fmt: skip
        if a >= at_least:
            return f"{x / size:,.{digits}f}{suffix}"
    return f"{x:,.0f}"


#: colours of the NPS groups (and of other groups, in turn)
GROUP_COLOURS = {
    "promoter": "#1a7f37",
    "passive": "#9a6700",
    "detractor": "#cf222e",
    "no answer": "#57606a",
}
_OTHER = ["#0a58ca", "#8250df", "#bc4c00", "#0550ae", "#6e7781"]
#: customers listed in the at-risk table
TOP = 50
SORTS = {"probability": "probability", "clv": "clv", "at_risk": "revenue_at_risk"}


def _colour(group: str, i: int) -> str:
    return GROUP_COLOURS.get(group, _OTHER[i % len(_OTHER)])


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


# ------------------------------------------------------------------ charts
def survival_chart(curves: list[dict[str, Any]]) -> Any:
    """Kaplan-Meier step curves per group with their 95% bands (filled)."""
    groups = list(dict.fromkeys(r["group"] for r in curves))
    if not groups:
        return None
    fig = go.Figure()
    for i, g in enumerate(groups):
        rows = [r for r in curves if r["group"] == g]
        x = [r["days"] for r in rows]
        colour = _colour(str(g), i)
        fig.add_trace(go.Scatter(x=x, y=[r["ci_high"] for r in rows], mode="lines",
                                 line={"width": 0, "shape": "hv"}, hoverinfo="skip",
                                 showlegend=False, legendgroup=str(g)))  # fmt: skip
        fig.add_trace(go.Scatter(x=x, y=[r["ci_low"] for r in rows], mode="lines",
                                 line={"width": 0, "shape": "hv"}, fill="tonexty",
                                 fillcolor=_rgba(colour, 0.15), hoverinfo="skip",
                                 showlegend=False, legendgroup=str(g)))  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=x, y=[r["survival"] for r in rows], mode="lines", name=str(g),
                legendgroup=str(g), line={"color": colour, "width": 2.5, "shape": "hv"},
                customdata=[[r["ci_low"], r["ci_high"], r["at_risk"]] for r in rows],
                hovertemplate=f"{g}, day %{{x}}: %{{y:.3f}} [%{{customdata[0]:.3f}}, "
                "%{customdata[1]:.3f}], at risk %{customdata[2]}<extra></extra>",
            )
        )  # fmt: skip
    fig.update_xaxes(title="days since joining")
    fig.update_yaxes(title="still a customer", rangemode="tozero", tickformat=".0%")
    return _html(fig, "survival-chart")


def clv_histogram(values: list[float], title: str) -> Any:
    """The distribution of CLV per customer (customers with a value above 0)."""
    x = [v for v in values if v is not None and math.isfinite(v)]
    if not x:
        return None
    top = float(np.quantile(x, 0.99))
    shown = [min(v, top) for v in x]
    fig = go.Figure(go.Histogram(x=shown, nbinsx=40, marker={"color": BLUE}, name=title,
                                 showlegend=False,
                                 hovertemplate="%{x}: %{y} customers<extra></extra>"))  # fmt: skip
    fig.update_xaxes(title=f"{title} (the top 1% drawn at the 99th percentile)")
    fig.update_yaxes(title="customers")
    fig.update_layout(showlegend=False, bargap=0.05)
    return _html(fig, "clv-histogram")


def at_risk_chart(groups: list[dict[str, Any]]) -> Any:
    """Revenue at risk per group with its 95% interval."""
    if not groups:
        return None
    labels = [str(g["group"]) for g in groups]
    fig = go.Figure(
        go.Bar(
            x=labels, y=[g["revenue_at_risk"] for g in groups], name="revenue at risk",
            showlegend=False,
            marker={"color": [_colour(label, i) for i, label in enumerate(labels)]},
            error_y={"type": "data", "symmetric": False, "color": INK, "thickness": 1.5,
                     "array": [g["ci_high"] - g["revenue_at_risk"] for g in groups],
                     "arrayminus": [g["revenue_at_risk"] - g["ci_low"] for g in groups]},
            customdata=[[g["ci_low"], g["ci_high"], g["n"]] for g in groups],
            hovertemplate="%{x}: %{y:,.0f} [%{customdata[0]:,.0f}, %{customdata[1]:,.0f}], "
            "%{customdata[2]} customers<extra></extra>",
        )
    )  # fmt: skip
    fig.update_xaxes(type="category", title="NPS group")
    fig.update_yaxes(title="revenue at risk")
    fig.update_layout(showlegend=False)
    return _html(fig, "at-risk-chart")


# ------------------------------------------------------------------ the page's request
def _what_if_args(q: Any) -> tuple[float, str, str]:
    raw = q.get("share") or "0.10"
    try:
        share = float(raw)
    except ValueError:
        raise QueryError(f"share={raw!r} is not a number (0.10 is 10%)") from None
    if not 0 <= share <= 1:
        raise QueryError(f"share={raw!r} must be between 0 and 1 (0.10 is 10%)")
    source = q.get("source") or "detractor"
    target = q.get("target") or "passive"
    for name, g in (("source", source), ("target", target)):
        if g not in GROUPS:
            raise QueryError(f"{name}={g!r} is not an NPS group ({', '.join(GROUPS)})")
    return share, source, target


def _models(state: ServerState) -> tuple[Any, ...]:
    """The latest kept model of each name (the results change when one is kept)."""
    with state.reader() as ws:
        t = ws.store.backend.table(MODELS)
        rows = t.group_by("name").aggregate(m=t.created_at.max(), i=t.model_id.max())
        got = rows.order_by("name").to_pyarrow().to_pylist()
    return tuple((r["name"], str(r["m"])) for r in got)


def _piece(compute: Callable[[], Any]) -> tuple[Any, str | None]:
    """``compute()``, or ``None`` and the reason it could not be computed."""
    try:
        return compute(), None
    except CXError as exc:
        return None, str(exc)


def _at_risk_customers(ws: Any, models: tuple[Any, ...]) -> dict[str, Any]:
    """Today's churn-risk scores joined with each customer's CLV (the riskiest first)."""
    scores = ws.churn.risk.score()
    money = ws.value.money
    values, source = money.values()
    frame = scores.customers.merge(values[["customer_id", "nps_group", "clv"]],
                                   on="customer_id", how="left")  # fmt: skip
    frame["clv"] = frame["clv"].fillna(0.0)
    frame["revenue_at_risk"] = frame["clv"] * frame["probability"]
    rows = []
    for r in frame.to_dict("records"):
        reasons = r.get("reasons") or []
        rows.append({
            "customer_id": r["customer_id"], "nps_group": r.get("nps_group"),
            "probability": float(r["probability"]), "ci_low": float(r["ci_low"]),
            "ci_high": float(r["ci_high"]), "clv": float(r["clv"]),
            "revenue_at_risk": float(r["revenue_at_risk"]),
            "reasons": [dict(x) for x in list(reasons)[:3]],
        })  # fmt: skip
    return {"rows": rows, "n": scores.n, "method": scores.method, "as_of": scores.as_of,
            "horizon_days": scores.horizon_days, "clv_source": source}  # fmt: skip


#: customer columns that are not groups to compare survival by
_NOT_GROUPS = {"email", "name", "churn_reason"}


def _attributes(ws: Any) -> list[str]:
    """What survival can be compared by: NPS group and the customers' text attributes."""
    cols = ws.store.columns("customers")
    return ["nps_group", *(
        c for c, kind in cols.items()
        if kind.lower().startswith("string") and not c.endswith("_id")
        and not c.startswith("_") and c not in _NOT_GROUPS
    )]  # fmt: skip


def _clv(ws: Any) -> dict[str, Any]:
    """The CLV per customer of the kept fit (none kept: say which command makes one)."""
    if ws.value.latest_fit() is None:
        raise QueryError(
            "no CLV fit is kept: run `cxray clv fit` for the predictive CLV per customer"
        )
    res = ws.value.clv()
    values = [float(v) for v in res.customers["clv"].to_numpy()]
    s = res.summary.to_dict()
    return {"values": values, "n": res.n, "mean": s["estimate"], "ci_low": s["ci_low"],
            "ci_high": s["ci_high"], "horizon_days": res.horizon_days, "method": res.method,
            "source": res.source}  # fmt: skip


def add_churn_value_routes(
    router: APIRouter,
    state: ServerState,
    *,
    who: Callable[[Request], Any],
    render: Callable[..., HTMLResponse],
    failed: Callable[..., Response],
) -> None:
    """Add ``GET /churn`` to the dashboard's router (its login, rendering and errors)."""

    @router.get("/churn", response_class=HTMLResponse)
    def churn_page(request: Request) -> Response:
        user = who(request)
        q = request.query_params
        try:
            share, source, target = _what_if_args(q)
        except CXError as exc:
            return failed(request, user, exc)
        by = (q.get("by") or "nps_group").strip()
        sort = q.get("sort") or "probability"
        if sort not in SORTS:
            return failed(request, user, QueryError(
                f"sort={sort!r}: sort by {', '.join(SORTS)}"))  # fmt: skip
        with state.reading():  # one snapshot for the whole page
            models = _models(state)
            attributes = state.cached(("churn.page.attributes",), _attributes)
            survival, survival_why = _piece(lambda: state.cached(
                ("churn-survival", by, None, None, 3),
                lambda ws: ws.churn.survival(by, None, landmark=None,
                                             bands=3).to_dict()))  # fmt: skip
            reasons, reasons_why = _piece(lambda: state.cached(
                ("churn-reasons", None, None, (("end", None), ("start", None))),
                lambda ws: ws.churn.reasons(None, None, start=None,
                                            end=None).to_dict()))  # fmt: skip
            risk, risk_why = _piece(lambda: state.cached(
                ("churn.page.risk", models),
                lambda ws: _at_risk_customers(ws, models)))  # fmt: skip
            clv, clv_why = _piece(lambda: state.cached(("churn.page.clv", models), _clv))
            at_risk, at_risk_why = _piece(lambda: state.cached(
                ("money", models, "risk", "nps_group", None),
                lambda ws: ws.value.money.at_risk("nps_group").to_dict()))  # fmt: skip
            roi, roi_why = _piece(lambda: state.cached(
                ("money", models, "roi", share, source, target, None),
                lambda ws: ws.value.money.roi(share, source, target).to_dict()))  # fmt: skip
            charts = state.cached(
                ("churn.page.charts", models, by, survival is None, clv is None,
                 at_risk is None, "v1"),
                lambda ws: {
                    "survival": survival_chart(survival["curves"]) if survival else None,
                    "clv": clv_histogram(clv["values"], "CLV per customer") if clv else None,
                    "at_risk": at_risk_chart(at_risk["groups"]) if at_risk else None,
                },
            )  # fmt: skip
        masking = Masking.for_caller(state.ws.config, pii=user.pii)  # cxray.privacy
        reasons = masking.texts(reasons, ["reason", "reasons"])  # stated reasons: free text
        rows = list(risk["rows"]) if risk else []
        rows.sort(key=lambda r: (-r[SORTS[sort]], r["customer_id"]))
        if risk_why and "no churn-risk model" in risk_why:
            risk_why = ("No churn-risk model is kept yet: run `cxray churn model` to score "
                        "every customer.")  # fmt: skip
        return render(
            request, "churn_value.html", user=user, view=View(), survival=survival,
            survival_why=survival_why, reasons=reasons, reasons_why=reasons_why, risk=risk,
            risk_why=risk_why, rows=rows[:TOP], sort=sort, clv=clv, clv_why=clv_why,
            at_risk=at_risk, at_risk_why=at_risk_why, roi=roi, roi_why=roi_why,
            charts=charts, chart=charts["survival"] or charts["at_risk"] or charts["clv"],
            share=share, source=source, target=target, groups=GROUPS,
            money=money_text, sorts=SORTS, by=by, attributes=attributes,
        )  # fmt: skip
