"""The *Maturity* page (``/maturity``): how mature the CX program is, with evidence.

* the latest kept assessment (``ws.maturity.latest()``), or, before any, the store's
  evidence alone (computed, not kept);
* a radar chart of the seven dimensions: stated (answers), evidence and the resulting score
  on the 0–3 scale, with the level bands;
* the overall level and its equivalents, where answers and evidence disagree, the roadmap;
* the history of overall levels (a line once there are two, and a table);
* the questionnaire as a form (analysts and admins): ``POST /maturity`` assesses, keeps the
  result and comes back to the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cxray.access import role_allows
from cxray.exceptions import CXError
from cxray.maturity import DIMENSIONS, LEVELS
from cxray.web._charts import BLUE, INK, _html
from cxray.web._context import ServerState, View, same_site

__all__ = ["add_maturity_routes", "history_chart", "radar_chart"]

#: the level bands on the 0–3 scale (cxray.maturity: width 0.75)
TICKS = [0.0, 0.75, 1.5, 2.25, 3.0]
#: light fills of the four level bands (as the page's level badges)
BANDS = ("#ffebe9", "#fff8c5", "#ddf4ff", "#dafbe1")
_GREEN = "#1a7f37"
_ORANGE = "#bc4c00"


#: short names of the dimensions around the radar (the full title shows on hover)
SHORT = {
    "leadership_strategy": "Leadership",
    "customer_insight": "Insight & VoC",
    "journey_management": "Journeys",
    "measurement": "Measurement",
    "closed_loop": "Closed loop",
    "culture_employees": "Culture",
    "technology_data": "Tech & data",
}


def radar_chart(result: dict[str, Any]) -> Any:
    """Stated, evidence and resulting score per dimension on the 0–3 scale (scatterpolar)."""
    dims = result["dimensions"]
    theta = [SHORT.get(d["id"], d["title"]) for d in dims]
    titles = [d["title"] for d in dims]
    fig = go.Figure()
    # the result first (filled), the answers and the evidence drawn over it
    for key, name, colour, dash in (
        ("score", "result", _GREEN, "solid"),
        ("stated_score", "stated (answers)", BLUE, "solid"),
        ("evidence_score", "evidence (store)", _ORANGE, "dot"),
    ):
        r = [d[key] for d in dims]
        if all(x is None for x in r):
            continue
        levels = [d.get(key.replace("score", "level")) or "—" for d in dims]
        info = [[t, lv] for t, lv in zip(titles, levels, strict=True)]
        fig.add_trace(
            go.Scatterpolar(
                r=[*r, r[0]],
                theta=[*theta, theta[0]],
                name=name,
                mode="lines+markers",
                connectgaps=False,
                fill="toself" if key == "score" else None,
                fillcolor="rgba(26, 127, 55, 0.12)" if key == "score" else None,
                line={"color": colour, "dash": dash, "width": 3 if key == "score" else 2},
                marker={"size": 9 if key == "score" else 6},
                customdata=[*info, info[0]],
                hovertemplate="%{customdata[0]}: %{r:.2f} (%{customdata[1]})<extra>"
                + name
                + "</extra>",
            )
        )
    if not fig.data:
        return None
    fig.update_layout(
        polar={
            "radialaxis": {
                "range": [0, 3],
                "tickvals": TICKS,
                "ticktext": ["0", "0.75", "1.5", "2.25", "3"],
                "angle": 90,
                "tickangle": 90,
                "gridcolor": "#d0d7de",
                "tickfont": {"size": 10},
            },
            "angularaxis": {"tickfont": {"size": 12}, "gridcolor": "#d0d7de"},
            "bgcolor": "white",
        },
        height=460,
    )
    return _html(fig, "maturity-radar", margin={"l": 84, "r": 84, "t": 30, "b": 30})


def history_chart(rows: list[dict[str, Any]]) -> Any:
    """The overall score of each kept assessment over time (from two on)."""
    rows = [r for r in rows if r["overall_score"] is not None]
    if len(rows) < 2:
        return None
    fig = go.Figure(
        go.Scatter(
            x=[r["assessed_at"] for r in rows],
            y=[r["overall_score"] for r in rows],
            mode="lines+markers",
            name="overall score",
            showlegend=False,
            line={"color": INK, "width": 2},
            customdata=[r["overall_level"] for r in rows],
            hovertemplate="%{x}: %{y:.2f} (%{customdata})<extra></extra>",
        )
    )
    for i, colour in enumerate(BANDS):  # each level's band, named at its middle
        fig.add_hrect(y0=TICKS[i], y1=TICKS[i + 1], fillcolor=colour, line_width=0, layer="below")
    fig.update_yaxes(
        range=[0, 3],
        tickvals=[(TICKS[i] + TICKS[i + 1]) / 2 for i in range(4)],
        ticktext=[lv.name for lv in LEVELS],
        showgrid=False,
        title=None,
    )
    fig.update_layout(showlegend=False, height=280)
    return _html(fig, "maturity-history")


def _page_data(state: ServerState) -> dict[str, Any]:
    with state.reader() as ws:
        rows = ws.maturity.history()
        latest = ws.maturity.latest()
    kept = latest is not None
    if latest is None:  # nothing kept yet: the evidence alone, not kept
        latest = state.cached(
            ("maturity.page.evidence",),
            lambda ws: ws.maturity.assess(None, source="evidence").to_dict(),
        )
    return {"latest": latest, "kept": kept, "history": rows}


def add_maturity_routes(
    router: APIRouter,
    state: ServerState,
    *,
    who: Callable[[Request], Any],
    render: Callable[..., HTMLResponse],
    failed: Callable[..., Response],
) -> None:
    """Add ``GET /maturity`` and ``POST /maturity`` to the dashboard's router."""

    def page(
        request: Request,
        user: Any,
        *,
        error: str | None = None,
        status: int = 200,
        given: dict[str, int] | None = None,
    ) -> Response:
        try:
            data = _page_data(state)
        except CXError as exc:
            return failed(request, user, exc)
        latest = data["latest"]
        radar = radar_chart(latest)
        hist = history_chart(data["history"])
        answers = given if given is not None else (latest.get("answers") or {})
        return render(
            request,
            "maturity.html",
            status,
            user=user,
            view=View(),
            result=latest,
            kept=data["kept"],
            history=list(reversed(data["history"])),
            radar=radar,
            history_chart=hist,
            chart=radar or hist,
            dimensions=DIMENSIONS,
            levels=LEVELS,
            answers=answers,
            can_assess=role_allows(user.role, "analyst"),
            error=error,
            done=request.query_params.get("done"),
        )

    @router.get("/maturity", response_class=HTMLResponse)
    def maturity_page(request: Request) -> Response:
        user = who(request)
        return page(request, user)

    @router.post("/maturity", response_class=HTMLResponse)
    async def maturity_assess(request: Request) -> Response:
        user = who(request)
        if not same_site(request):
            return render(
                request,
                "error.html",
                403,
                user=user,
                view=View(),
                message="an assessment must come from this site's own page",
            )
        if not role_allows(user.role, "analyst"):
            return render(
                request,
                "error.html",
                403,
                user=user,
                view=View(),
                message=f"a {user.role} key may not assess maturity; it needs the "
                "analyst role or higher",
            )
        form = await request.form()
        raw: dict[str, Any] = {}
        for q in (q for d in DIMENSIONS for q in d.questions):
            value = str(form.get(q.id) or "").strip()
            if value:
                raw[q.id] = int(value) if value.isdigit() else value
        unknown = [k for k in form if k not in {q.id for d in DIMENSIONS for q in d.questions}]

        def run() -> str:
            ws = state.ws
            checked = ws.maturity.parse_answers(
                {**raw, **{k: form.get(k) for k in unknown}}, where="form"
            )
            with state.reader() as reader:
                result = reader.maturity.assess(
                    checked, source="web" if checked else "evidence"
                ).to_dict()
            return ws.maturity.save(result, actor=user.name or user.role)

        try:
            await run_in_threadpool(run)
        except CXError as exc:
            message = str(exc)
            given = {k: v for k, v in raw.items() if isinstance(v, int)}
            return await run_in_threadpool(
                lambda: page(request, user, error=message, status=400, given=given)
            )
        return RedirectResponse("/maturity?done=1#result", status_code=303)
