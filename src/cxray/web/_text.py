"""The Text page: themes by volume, sentiment and NPS impact; a theme's quotes; emerging issues.

Its numbers come from :data:`cxray.text.REPORTS`, the same reports (computed
once per state of the data) that ``/api/text`` answers, so the page and the
API agree. Quotes and examples are redacted unless ``[privacy] redact = false``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from cxray import text
from cxray.exceptions import CXError, QueryError
from cxray.privacy import Masking
from cxray.web._charts import _html
from cxray.web._context import ServerState, View

__all__ = ["add_text_routes", "text_version", "themes_chart", "warm_text"]

TABLES = ("responses", "cases", "mentions")
SOURCES = ("taxonomy", "discover")
QUOTES_PER_PAGE = 20
_KEYS = {"responses": "response_id", "cases": "case_id", "mentions": "mention_id"}
_log = logging.getLogger("cxray.web")


def text_version(state: ServerState) -> tuple[Any, ...]:
    """The state of the texts the Text page reports on (imports, scores, stored themes of
    every table): when it changes, :func:`warm_text` has something new to compute."""
    with state.reader() as ws:
        return tuple(text.REPORTS.data_version(ws.store, t) for t in TABLES)


def warm_text(state: ServerState) -> list[str]:
    """Compute what the Text page shows first (:meth:`cxray.text.TextReports.precompute`:
    each table's taxonomy themes and the weekly case trends) and keep it in the store.

    ``cxray serve`` calls this in the background when it starts and whenever the texts
    change (an import and its enrichment, ``cxray text enrich``), so the first look at
    the page finds the reports ready. Computed through a read snapshot (an import is not
    held up), written under the write lock. Returns what it covered.
    """
    with state.reader() as ws:
        done = text.REPORTS.precompute(ws.store, state.ws.config)
    with state.lock:
        text.REPORTS.save(state.ws.store)
    return done


def _save_kept(state: ServerState) -> None:
    """Keep in the store what a view just computed (the next server start reads it)."""
    try:
        text.REPORTS.save(state.ws.store)
    except Exception:  # a store that cannot take it: the page computes it again next time
        _log.warning("could not keep the Text page's reports in the store", exc_info=True)


def _est(e: dict[str, Any] | None) -> float | None:
    if not e or e.get("suppressed") or e.get("estimate") is None:
        return None
    return float(e["estimate"])


def themes_chart(report: dict[str, Any]) -> Markup | None:
    """Bubbles: mean sentiment (x) against NPS impact (y, responses) or negative share
    (y, other tables), area by volume; a click opens the theme's quotes."""
    impact = report["table"] == "responses"
    xs, ys, sizes, labels, links, hover = [], [], [], [], [], []
    for t in report["themes"]:
        x = _est(t["sentiment"])
        y = _est(t["impact"]["nps"]) if impact else _est(t["negative_share"])
        if x is None or y is None or not t["volume"]:
            continue
        xs.append(x)
        ys.append(y if impact else 100 * y)
        sizes.append(t["volume"])
        labels.append(t["label"])
        links.append(_theme_link(report, t["id"]))
        hover.append(f"{t['label']}<br>{t['volume']:,} texts")
    if not xs:
        return None
    top = max(sizes)
    fig = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers+text",
            text=labels,
            textposition="top center",
            cliponaxis=False,  # a label above the topmost bubble stays whole
            customdata=links,
            hovertext=hover,
            hoverinfo="text",
            marker={
                "size": sizes,
                "sizemode": "area",
                "sizeref": 2.0 * top / 60.0**2,
                "sizemin": 6,
                "color": xs,
                "colorscale": "RdBu",
                "cmin": -1,
                "cmax": 1,
                "line": {"width": 1, "color": "#1f2328"},
            },
            name="themes",
            showlegend=False,
        )
    )
    fig.update_xaxes(title="mean sentiment (−1 … 1)")
    fig.update_yaxes(title="NPS points lost to its negative comments" if impact else "% negative")
    html = _html(fig, "themes-chart")
    # a click on a bubble opens its theme: the dashboard's chart script (static/cxray-charts.js)
    return Markup(html)


def _theme_link(report: dict[str, Any], theme_id: str, **extra: Any) -> str:
    params = {"table": report["table"], "source": report["source"], "theme": theme_id, **extra}
    return "/text?" + urlencode({k: v for k, v in params.items() if v is not None}) + "#quotes"


def _row_link(table: str, column: str, value: Any) -> str:
    """The drill-down page of one row (the dashboard's rows page, filtered to its key)."""
    return f"/rows/{table}?" + urlencode({"filter": f"{column}:{value}"})


def add_text_routes(
    router: APIRouter,
    state: ServerState,
    *,
    who: Callable[[Request], Any],
    render: Callable[..., HTMLResponse],
    failed: Callable[..., Response],
) -> None:
    """Add ``GET /text`` to the dashboard's router (its login, rendering and errors)."""

    @router.get("/text", response_class=HTMLResponse)
    def text_page(
        request: Request,
        table: str = "responses",
        source: str = "taxonomy",
        theme: str | None = None,
        sentiment: str | None = None,
        offset: int = 0,
    ) -> Response:
        user = who(request)
        try:
            if table not in TABLES:
                raise QueryError(f"table={table!r}: use one of {', '.join(TABLES)}")
            if source not in SOURCES:
                raise QueryError(f"source={source!r}: use taxonomy or discover")
            with state.lock:  # reports read through the workspace's own connection
                ws = state.ws
                # quotes as this reader may read them (cxray.privacy)
                config = Masking.for_caller(ws.config, pii=user.pii).report_config(ws.config)
                keep = config is ws.config  # only reports under the store's own config are kept
                report = text.REPORTS.themes(
                    ws.store, config, source=source, table=table, keep=keep
                )
                quotes = None
                if theme:
                    quotes = text.REPORTS.theme_rows(
                        ws.store,
                        config,
                        theme,
                        source=source,
                        table=table,
                        sentiment=sentiment or None,
                        limit=QUOTES_PER_PAGE,
                        offset=max(0, offset),
                    )
                trends = text.REPORTS.trends(ws.store, config, period="week", keep=keep)
                fdr = ws.config.measurement.fdr
                if keep:
                    _save_kept(state)
        except CXError as exc:
            return failed(request, user, exc)
        rows = []
        for t in report["themes"]:
            rows.append({"t": t, "link": _theme_link(report, t["id"])})
        nav = None
        if quotes is not None:
            here = {"sentiment": sentiment or None}
            nav = {
                "prev": _theme_link(report, theme, **here, offset=max(0, offset - QUOTES_PER_PAGE))
                if offset > 0
                else None,
                "next": _theme_link(report, theme, **here, offset=offset + QUOTES_PER_PAGE)
                if quotes["has_more"]
                else None,
                "filters": {
                    s: _theme_link(report, theme, sentiment=s)
                    for s in (None, "negative", "neutral", "positive")
                },
            }
        return render(
            request,
            "text.html",
            user=user,
            view=View(),
            report=report,
            rows=rows,
            chart=themes_chart(report),
            quotes=quotes,
            nav=nav,
            key=_KEYS[table],
            trends=trends,
            fdr=fdr,
            tables=TABLES,
            sources=SOURCES,
            row_link=_row_link,
        )
