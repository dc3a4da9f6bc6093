"""The Text page: themes by volume, sentiment and NPS impact; a theme's quotes; emerging issues.

Its numbers come from :data:`cxray.text.REPORTS`, the same reports (computed
once per state of the data) that ``/api/text`` answers, so the page and the
API agree. Quotes and examples are redacted unless ``[privacy] redact = false``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape

from cxray import text
from cxray.exceptions import CXError, QueryError
from cxray.privacy import Masking
from cxray.web._charts import (
    BUBBLE_HEIGHT,
    BUBBLE_MARGIN,
    BUBBLE_MAX_RADIUS,
    BUBBLE_MAX_WIDTH,
    BUBBLE_MIN_RADIUS,
    BUBBLE_MIN_WIDTH,
    BUBBLE_PHONE_WIDTH,
    INK,
    LABEL_FONT,
    _html,
    bubble_radius,
    place_bubble_labels,
)
from cxray.web._context import ServerState, View
from cxray.web._text_faq import faq_section

__all__ = ["add_text_routes", "stop_warm_text", "text_version", "themes_chart", "warm_text"]

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
    text.REPORTS.background = True  # views may answer with older reports meanwhile
    _load_chart_code()
    with state.reader() as ws:
        done = text.REPORTS.precompute(ws.store, state.ws.config)
    with state.lock:
        text.REPORTS.save(state.ws.store)
    return done


_CHART_LOADED = False


def _load_chart_code() -> None:
    """Draw a one-bubble chart once per process: Plotly loads its figure classes and
    validators on first use (0.5-0.7 s at a load of 13 on 2 cores), which the first view of
    the page would otherwise pay."""
    global _CHART_LOADED
    if _CHART_LOADED:
        return
    est = {"estimate": 0.1}
    one = {"id": "x", "label": "x", "volume": 1, "sentiment": est, "negative_share": est}
    themes_chart({"table": "responses", "source": "taxonomy", "themes": [
        {**one, "impact": {"nps": est}}
    ]})  # fmt: skip
    _CHART_LOADED = True


def stop_warm_text() -> None:
    """No more background computation: views compute what they need again (server stop)."""
    text.REPORTS.background = False


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


def _range(values: list[float], lo: float | None = None, hi: float | None = None) -> list[float]:
    a, b = min(values), max(values)
    if lo is not None:
        a = min(a, lo)
    if hi is not None:
        b = max(b, hi)
    pad = max((b - a) * 0.12, 0.05 if b - a < 1 else 1.0)
    return [a - pad, b + pad]


def themes_chart(report: dict[str, Any]) -> Markup | None:
    """Bubbles: mean sentiment (x) against NPS impact (y, responses) or negative share
    (y, other tables), area by volume; a click opens the theme's quotes.

    Labels never overlap one another or a bubble at any width the chart is drawn at
    (:func:`cxray.web._charts.place_bubble_labels`: axis ranges and height fixed here). The
    chart is laid out twice: for a screen (the chart's minimum width up to the page's widest
    box) and for a phone (``BUBBLE_PHONE_WIDTH`` up to that minimum, more labels numbered);
    the stylesheet shows the one that fits, and below the phone's width it scrolls. A label
    with no free spot becomes a number in its bubble, listed under the chart."""
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
    return _drawn(impact, *map(tuple, (xs, ys, sizes, labels, links, hover)))


@functools.lru_cache(maxsize=32)
def _drawn(
    impact: bool,
    xs: tuple[float, ...],
    ys: tuple[float, ...],
    sizes: tuple[int, ...],
    labels: tuple[str, ...],
    links: tuple[str, ...],
    hover: tuple[str, ...],
) -> Markup:
    """The chart's HTML, drawn once per set of bubbles: Plotly takes a tenth of a second of
    the interpreter per chart, which a view of the same report would pay again."""
    top = max(sizes)
    xr = _range(xs, -0.1, 0.1)
    yr = _range(ys, 0.0)
    m = BUBBLE_MARGIN
    height = BUBBLE_HEIGHT - m["t"] - m["b"]
    radii = [bubble_radius(v, top) for v in sizes]
    fx = [(x - xr[0]) / (xr[1] - xr[0]) for x in xs]
    fy = [(y - yr[0]) / (yr[1] - yr[0]) * height for y in ys]
    parts = []
    for layout, div_id, lo, hi in (
        ("wide", "themes-chart", BUBBLE_MIN_WIDTH, BUBBLE_MAX_WIDTH),
        ("narrow", "themes-chart-phone", BUBBLE_PHONE_WIDTH, BUBBLE_MIN_WIDTH),
    ):
        widths = (lo - m["l"] - m["r"], hi - m["l"] - m["r"])
        spots = place_bubble_labels(fx, fy, radii, labels, height=height, widths=widths)
        annotations, key = _bubble_annotations(spots, xs, ys, radii, links)
        fig = _bubble_figure(xs, ys, sizes, links, hover, top, xr, yr, impact)
        fig.update_layout(annotations=annotations, height=BUBBLE_HEIGHT)
        # a click on a bubble opens its theme: the dashboard's chart script (cxray-charts.js)
        html = _html(fig, div_id, margin=m)
        html = Markup(
            f'<div class="bubble-{layout}"><div class="scroll" tabindex="0" role="region" '
            f'aria-label="Themes chart"><div class="bubble-chart">{html}</div></div>'
        )
        if key:
            items = "".join(
                f'<li value="{n}"><a href="{escape(link)}">{escape(text)}</a></li>'
                for n, text, link in sorted(key)
            )
            html += Markup(f'<ol class="bubble-key" aria-label="Numbered bubbles">{items}</ol>')
        parts.append(html + Markup("</div>"))
    return Markup("").join(parts)


def _bubble_annotations(
    spots: list[Any], xs: list[float], ys: list[float], radii: list[float], links: list[str]
) -> tuple[list[dict[str, Any]], list[tuple[int, str, str]]]:
    """Plotly annotations for placed labels, and the numbered key of those without a spot."""
    annotations: list[dict[str, Any]] = []
    key = []
    for i, spot in enumerate(spots):  # in the bubbles' order
        text = spot.text
        font: dict[str, Any] = {"size": LABEL_FONT}
        if spot.number is not None:
            key.append((spot.number, spot.text, links[i]))
            text = str(spot.number)
            font = {"size": LABEL_FONT - 1, "color": INK}
        if spot.leader:
            annotations.append(
                {"x": xs[i], "y": ys[i], "text": text, "showarrow": True, "ax": spot.dx,
                 "ay": -spot.dy, "xanchor": "center", "yanchor": "middle", "arrowhead": 0,
                 "arrowwidth": 1, "arrowcolor": "#57606a", "standoff": radii[i], "font": font}
            )  # fmt: skip
        else:
            annotations.append(
                {"x": xs[i], "y": ys[i], "text": text, "showarrow": False, "xshift": spot.dx,
                 "yshift": spot.dy, "xanchor": "center", "yanchor": "middle", "font": font}
            )  # fmt: skip
        if spot.number is not None:
            annotations[-1].update(bgcolor="rgba(255,255,255,0.85)", borderpad=0)
    return annotations, key


def _bubble_figure(
    xs: list[float],
    ys: list[float],
    sizes: list[int],
    links: list[str],
    hover: list[str],
    top: float,
    xr: list[float],
    yr: list[float],
    impact: bool,
) -> go.Figure:
    fig = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers",
            cliponaxis=False,  # a bubble at the edge stays whole
            customdata=links,
            hovertext=hover,
            hoverinfo="text",
            marker={
                "size": sizes,
                "sizemode": "area",
                "sizeref": 2.0 * top / (2 * BUBBLE_MAX_RADIUS) ** 2,
                "sizemin": BUBBLE_MIN_RADIUS,
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
    fig.update_xaxes(title="mean sentiment (−1 … 1)", range=xr, autorange=False)
    fig.update_yaxes(
        title="NPS points lost to its negative comments" if impact else "% negative",
        range=yr,
        autorange=False,
    )
    return fig


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
            # while the server computes newer reports in the background, a view answers at
            # once with the ones computed before (marked), rather than waiting for them
            # read through a snapshot (neither waiting for an import nor holding one up);
            # only what this view computed itself is written, under the write lock
            with state.reader() as ws, text.REPORTS.ready_first() as stale:
                # quotes as this reader may read them (cxray.privacy)
                config = Masking.for_caller(ws.config, pii=user.pii).report_config(ws.config)
                # kept in the store: the store's own config and, for readers with pii, its
                # unmasked copy (keyed unmasked:, deleted by an erasure like the others)
                keep = True
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
                faq = faq_section(ws.store, config, keep=keep)  # cxray.web._text_faq
                # languages of these texts that sentiment cannot score: a notice at the top
                gaps = text.REPORTS.languages(ws.store, table, keep=keep)["gaps"]
                fdr = ws.config.measurement.fdr
                # kept now unless a writer (an import) holds the store: then the next save
                # (the warmer's, or a later view's) writes it
                if keep and text.REPORTS.computed_here() and state.lock.acquire(blocking=False):
                    try:
                        _save_kept(state)
                    finally:
                        state.lock.release()
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
            gaps=gaps,
            stale=bool(stale),
            faq=faq,
            fdr=fdr,
            tables=TABLES,
            sources=SOURCES,
            row_link=_row_link,
        )
